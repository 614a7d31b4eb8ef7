//! The widget's files (`UPSELL_WIDGET_DIR`), served the way the web serves static assets:
//!
//! - **Precompressed.** The build writes a `.br` and a `.gz` beside every file; the one the
//!   browser's `Accept-Encoding` prefers is sent, with `Vary: Accept-Encoding` so that caches
//!   keep one copy per encoding. Nothing is compressed per request.
//! - **Cached for good when the name says what is in it.** Every file but the loader has a
//!   content hash in its name (`dodo-upsell.3f2a9c1b0d4e5f67.js`): a new release is new names,
//!   so these are `immutable` for a year.
//! - **The loader revalidated within minutes.** `upsell.js` is the one URL merchants paste: a
//!   short `max-age`, then a conditional request answered `304 Not Modified` (its
//!   `Last-Modified`) while the release is the same. A new release reaches every page within
//!   five minutes ([`LOADER_CACHE_CONTROL`]).
//! - Anything else there (the demo's pages) is revalidated on every load.
//!
//! Types come from the file's extension (`application/wasm` for wasm, which lets the browser
//! compile while it downloads), also when the compressed copy is the one sent.

use axum::extract::Request;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::path::Path;
use tower_http::services::ServeDir;

/// The loader's name: the only widget file without a hash in its name.
pub const LOADER: &str = "upsell.js";

/// The loader may be used for five minutes without asking again; then it is revalidated.
pub const LOADER_CACHE_CONTROL: &str = "public, max-age=300, must-revalidate";

/// A year: the longest `max-age` caches honour.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The service answering every path the API does not have, from `dir`.
pub fn service(dir: &Path) -> Router {
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(true)
        // A missing file is answered like any path the proxy does not have: JSON 404.
        .not_found_service(super::routes::not_found.into_service());
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
}

/// Sets `Cache-Control` by what the requested name says, and `Vary: Accept-Encoding`.
async fn cache_headers(request: Request, next: Next) -> Response {
    let name = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut response = next.run(request).await;
    if !(response.status().is_success() || response.status().as_u16() == 304) {
        return response;
    }
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(&name)),
    );
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// `Cache-Control` for a file named `name`.
pub fn cache_control(name: &str) -> &'static str {
    if name == LOADER {
        LOADER_CACHE_CONTROL
    } else if has_content_hash(name) {
        IMMUTABLE
    } else {
        "no-cache"
    }
}

/// True for `stem.<16 lowercase hex digits>.ext`, the build's names for files whose content
/// never changes under that name.
pub fn has_content_hash(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let (Some(_extension), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !stem.is_empty()
        && hash.len() == 16
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_immutable_the_loader_short_lived_and_the_rest_revalidated() {
        assert_eq!(
            cache_control("dodo-upsell.3f2a9c1b0d4e5f67.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_control("dodo-upsell_bg.0123456789abcdef.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_control(LOADER),
            "public, max-age=300, must-revalidate"
        );
        for revalidated in [
            "index.html",
            "",
            "widget.css",
            "x.0123456789ABCDEF.js",
            "x.0123456789abcde.js",
            ".0123456789abcdef.js",
            "0123456789abcdef.js",
        ] {
            assert_eq!(cache_control(revalidated), "no-cache", "{revalidated}");
        }
    }
}
