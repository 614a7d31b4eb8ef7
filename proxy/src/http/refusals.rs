//! Every refusal in one shape. The proxy's own errors are `{code, message}` (see `error`), but
//! some refusals are made before or beside any handler of ours: axum's extractors (a body over
//! the limit read as bytes answers a plain-text 413), the file server (a method it does not
//! serve, a range it cannot), a bare status. This middleware, around everything, turns any 4xx
//! or 5xx whose body is not JSON into `{code, message}` with the status's stable code, so that
//! whoever reads an answer of the proxy (the widget, a merchant's script, a monitor) reads
//! every refusal the same way, on every route, and no new route or extractor can forget to.

use super::error::ApiError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The most of a plain-text refusal kept as its message; axum's are one line.
const MAX_DETAIL_BYTES: usize = 1024;

/// Headers that described the body being replaced.
const BODY_HEADERS: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
];

/// Middleware: a refusal that is not JSON becomes `{code, message}`, keeping its status and
/// the headers that say more than its body (`allow`, `retry-after`, `www-authenticate`, …).
pub async fn as_json(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = if is_plain_text(&parts.headers) {
        text(body).await
    } else {
        None
    };
    let mut refusal = ApiError::for_status(status, detail).into_response();
    let own: Vec<HeaderName> = refusal.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        if !own.contains(name) && !BODY_HEADERS.contains(name) {
            refusal.headers_mut().append(name.clone(), value.clone());
        }
    }
    refusal
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_json(headers: &HeaderMap) -> bool {
    let kind = content_type(headers);
    kind == "application/json" || kind.ends_with("+json")
}

fn is_plain_text(headers: &HeaderMap) -> bool {
    content_type(headers) == "text/plain"
}

/// A short plain-text body, as one trimmed line; none when empty, long or not UTF-8.
async fn text(body: Body) -> Option<String> {
    let bytes = axum::body::to_bytes(body, MAX_DETAIL_BYTES).await.ok()?;
    let text = String::from_utf8(bytes.to_vec()).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};
    use axum::routing::get;
    use axum::Router;

    /// Serves `app` wrapped in the middleware on loopback; answers `GET /` once.
    async fn get_root(app: Router) -> reqwest::Response {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let app = app.layer(axum::middleware::from_fn(as_json));
        tokio::spawn(async move { axum::serve(listener, app).await });
        reqwest::get(url).await.unwrap()
    }

    #[tokio::test]
    async fn a_plain_text_refusal_becomes_json_with_its_status_code_and_headers() {
        let response = get_root(Router::new().route(
            "/",
            get(|| async {
                (
                    StatusCode::METHOD_NOT_ALLOWED,
                    [(header::ALLOW, HeaderValue::from_static("GET,HEAD"))],
                    "nope",
                )
            }),
        ))
        .await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
        assert_eq!(body["message"], "nope");
    }

    #[tokio::test]
    async fn a_bare_status_gets_its_default_message_and_json_and_success_pass_untouched() {
        let bare = get_root(Router::new().route("/", get(|| async { StatusCode::BAD_GATEWAY })));
        let body: serde_json::Value = bare.await.json().await.unwrap();
        assert_eq!(body["code"], "upstream_unavailable");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

        let ours = get_root(Router::new().route(
            "/",
            get(|| async { ApiError::bad_request("invalid_thing", "that thing") }),
        ));
        let body: serde_json::Value = ours.await.json().await.unwrap();
        assert_eq!(body["code"], "invalid_thing");

        let fine = get_root(Router::new().route("/", get(|| async { "hello" }))).await;
        assert_eq!(fine.status(), StatusCode::OK);
        assert_eq!(fine.text().await.unwrap(), "hello");
    }
}
