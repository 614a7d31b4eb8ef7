//! Every refusal, on every route, in one shape: a 4xx with `content-type: application/json` and
//! `{code, message}`, a stable `code`, whoever refuses (our handlers, axum's extractors, the
//! widget files' server, the fallbacks). For each route: a body over the limit, a body that is
//! not JSON or not typed as JSON, a missing credential, a bad query, a wrong method, a path or
//! file that is not there.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::Value;
use std::path::PathBuf;
use upsell_e2e::{Stack, StackOptions};

/// One request, and the refusal it must get.
struct Case {
    method: Method,
    path: &'static str,
    /// The request's `content-type`, if it has one.
    content_type: Option<&'static str>,
    body: Vec<u8>,
    /// Extra header.
    header: Option<(&'static str, &'static str)>,
    status: u16,
    code: &'static str,
}

impl Case {
    fn new(method: Method, path: &'static str, status: u16, code: &'static str) -> Case {
        Case {
            method,
            path,
            content_type: None,
            body: Vec::new(),
            header: None,
            status,
            code,
        }
    }

    fn json(mut self, body: &[u8]) -> Case {
        self.content_type = Some("application/json");
        self.body = body.to_vec();
        self
    }

    fn typed(mut self, content_type: &'static str, body: &[u8]) -> Case {
        self.content_type = Some(content_type);
        self.body = body.to_vec();
        self
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Case {
        self.header = Some((name, value));
        self
    }
}

/// Over the proxy's 64 KB limit.
fn oversized() -> Vec<u8> {
    let mut body = b"{\"token\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'a', 100 * 1024));
    body.extend(b"\"}");
    body
}

/// The JSON routes that read a body, each refused the same ways.
const JSON_ROUTES: [&str; 5] = [
    "/v1/offers/accept",
    "/v1/offers/decline",
    "/v1/offers/checkout",
    "/v1/plan-changes/preview",
    "/v1/plan-changes/confirm",
];

/// The beacon routes, which read JSON whatever its type says (`navigator.sendBeacon`).
const BEACON_ROUTES: [&str; 2] = ["/v1/offers/impression", "/v1/widget/errors"];

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for path in JSON_ROUTES {
        cases.push(Case::new(Method::POST, path, 413, "payload_too_large").json(&oversized()));
        cases.push(
            Case::new(Method::POST, path, 415, "unsupported_media_type").typed("text/plain", b"{}"),
        );
        cases.push(Case::new(Method::POST, path, 400, "invalid_body").json(b"{not json"));
        cases.push(Case::new(Method::POST, path, 422, "invalid_body").json(b"{}"));
        cases.push(Case::new(Method::GET, path, 405, "method_not_allowed"));
    }
    for path in BEACON_ROUTES {
        cases.push(Case::new(Method::POST, path, 413, "payload_too_large").json(&oversized()));
        cases.push(
            Case::new(Method::POST, path, 413, "payload_too_large")
                .typed("text/plain", &oversized()),
        );
        cases.push(Case::new(Method::POST, path, 400, "invalid_body").json(b"{not json"));
        cases.push(Case::new(Method::GET, path, 405, "method_not_allowed"));
    }
    cases.extend([
        // The offers lookup: a bad query, a malformed id, a wrong method.
        Case::new(Method::GET, "/v1/offers", 400, "invalid_query"),
        Case::new(
            Method::GET,
            "/v1/offers?payment_id=pay_1&payment_id=pay_2",
            400,
            "invalid_query",
        ),
        Case::new(
            Method::GET,
            "/v1/offers?payment_id=../customers",
            400,
            "invalid_payment_id",
        ),
        Case::new(Method::POST, "/v1/offers", 405, "method_not_allowed").json(&oversized()),
        // Where an accept or a plan change stands.
        Case::new(
            Method::GET,
            "/v1/accepts/acc_unknown",
            404,
            "accept_not_found",
        ),
        Case::new(
            Method::POST,
            "/v1/accepts/acc_unknown",
            405,
            "method_not_allowed",
        ),
        Case::new(
            Method::GET,
            "/v1/plan-changes/pcr_unknown",
            404,
            "plan_change_not_found",
        ),
        // The account page's plan changes, without its token.
        Case::new(
            Method::GET,
            "/v1/plan-changes",
            401,
            "missing_account_token",
        ),
        Case::new(
            Method::GET,
            "/v1/plan-changes",
            401,
            "missing_account_token",
        )
        .header("authorization", "Basic eDp5"),
        // The report, without the admin token.
        Case::new(Method::GET, "/v1/report", 401, "unauthorized"),
        Case::new(Method::GET, "/report", 401, "unauthorized"),
        Case::new(Method::POST, "/report", 405, "method_not_allowed").json(&oversized()),
        // Dodo's webhooks: too large (refused before its signature is checked), unsigned.
        Case::new(Method::POST, "/webhooks/dodo", 413, "payload_too_large").json(&oversized()),
        Case::new(Method::POST, "/webhooks/dodo", 401, "invalid_signature").json(b"{}"),
        Case::new(Method::GET, "/webhooks/dodo", 405, "method_not_allowed"),
        // Health and metrics.
        Case::new(Method::POST, "/healthz", 405, "method_not_allowed").json(&oversized()),
        Case::new(Method::POST, "/metrics", 405, "method_not_allowed").json(b"{}"),
        // The widget's files, as the file server refuses them.
        Case::new(Method::POST, "/upsell.js", 405, "method_not_allowed").json(&oversized()),
        Case::new(Method::DELETE, "/upsell.js", 405, "method_not_allowed"),
        Case::new(Method::GET, "/upsell.js", 416, "range_not_satisfiable")
            .header("range", "bytes=100000-"),
        Case::new(Method::GET, "/missing.js", 404, "not_found"),
        Case::new(Method::GET, "/%2e%2e/Cargo.toml", 404, "not_found"),
        // The fallbacks: no such path, no such method.
        Case::new(Method::GET, "/v1/nothing-here", 404, "not_found"),
        Case::new(
            Method::DELETE,
            "/v1/offers/accept",
            405,
            "method_not_allowed",
        ),
        Case::new(Method::PUT, "/v1/offers", 405, "method_not_allowed"),
    ]);
    cases
}

/// A folder with one file, served as the widget's files are.
fn widget_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("upsell-refusals-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("upsell.js"), "export {};\n").unwrap();
    dir
}

/// Sends `case` to `base`; checks the refusal's status and shape; returns what went wrong.
async fn check(http: &reqwest::Client, base: &str, case: &Case) -> Option<String> {
    // Each case on a connection of its own: a refusal may end its connection (an oversized
    // body is answered before it is read), and a pooled one reused after it fails with
    // `IncompleteMessage` before the next case is even sent.
    let mut request = http
        .request(case.method.clone(), format!("{base}{}", case.path))
        .header(reqwest::header::CONNECTION, "close");
    if let Some(content_type) = case.content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    if let Some((name, value)) = case.header {
        request = request.header(name, value);
    }
    if !case.body.is_empty() {
        request = request.body(case.body.clone());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let well_formed = status == case.status
        && content_type == "application/json"
        && body["code"] == case.code
        && body["message"].as_str().is_some_and(|m| !m.is_empty())
        && body.as_object().is_some_and(|o| o.len() == 2);
    (!well_formed).then(|| {
        format!(
            "{} {} ({} bytes): {status} {content_type:?} {text:?}; want {} {}",
            case.method,
            case.path,
            case.body.len(),
            case.status,
            case.code
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_on_every_route_is_json_with_a_stable_code() {
    let dir = widget_dir();
    let stack = Stack::start(StackOptions {
        widget_dir: Some(dir.clone()),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let mut wrong = Vec::new();
    for case in cases() {
        wrong.extend(check(&stack.http, &stack.proxy_url, &case).await);
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        wrong.is_empty(),
        "refusals in another shape:\n{}",
        wrong.join("\n")
    );
    // Nothing refused reached Dodo's money.
    assert!(stack.ledger().await.unwrap()["charges"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_widget_files_unknown_paths_are_json_404s_too() {
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let mut wrong = Vec::new();
    for case in [
        Case::new(Method::GET, "/upsell.js", 404, "not_found"),
        Case::new(Method::POST, "/upsell.js", 404, "not_found").json(&oversized()),
        Case::new(Method::GET, "/", 404, "not_found").header("range", "bytes=0-1"),
    ] {
        wrong.extend(check(&stack.http, &stack.proxy_url, &case).await);
    }
    assert!(
        wrong.is_empty(),
        "refusals in another shape:\n{}",
        wrong.join("\n")
    );
}
