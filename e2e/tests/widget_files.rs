//! The widget's files as the proxy serves them (`UPSELL_WIDGET_DIR`), over real HTTP, from the
//! release build `cargo xtask test` makes: precompressed by what the browser accepts, typed,
//! cached for good when their names carry their content's hash, the loader revalidated; and
//! the widget's error reports counted, bad ones refused.

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, IF_MODIFIED_SINCE,
    LAST_MODIFIED, VARY,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use upsell_e2e::{widget_dist, Stack, StackOptions};

/// The build's list of the widget's files (`upsell-files.json`).
fn manifest(dist: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dist.join("upsell-files.json")).unwrap()).unwrap()
}

/// Every file of the widget: the critical path (the loader first) and the parts on demand.
fn widget_files(manifest: &Value) -> Vec<String> {
    let mut files: Vec<String> = manifest["critical"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    for part in manifest["on_demand"].as_object().unwrap().values() {
        for file in part.as_array().unwrap() {
            files.push(file.as_str().unwrap().to_string());
        }
    }
    files.dedup();
    files
}

async fn stack_serving_the_widget() -> Stack {
    Stack::start(StackOptions {
        widget_dir: Some(widget_dist()),
        ..StackOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn every_widget_file_is_sent_precompressed_typed_and_cached_by_its_name() {
    let dist = widget_dist();
    let manifest = manifest(&dist);
    let stack = stack_serving_the_widget().await;
    let files = widget_files(&manifest);
    assert_eq!(files[0], "upsell.js");
    assert!(
        files.len() >= 6,
        "the loader, glue, runtime, wasm, stylesheet and parts: {files:?}"
    );
    for file in &files {
        let raw = std::fs::read(dist.join(file)).unwrap();
        for (accepted, encoding, suffix) in [
            ("br, gzip, deflate", Some("br"), ".br"),
            ("gzip, deflate", Some("gzip"), ".gz"),
            ("identity", None, ""),
        ] {
            let response = stack
                .http
                .get(format!("{}/{file}", stack.proxy_url))
                .header(ACCEPT_ENCODING, accepted)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{file}");
            let headers = response.headers().clone();
            let header = |name| headers.get(name).map(|v| v.to_str().unwrap().to_string());
            assert_eq!(
                header(CONTENT_ENCODING).as_deref(),
                encoding,
                "{file} for {accepted}"
            );
            assert!(
                headers
                    .get_all(VARY)
                    .iter()
                    .any(|v| v.to_str().unwrap().contains("accept-encoding")),
                "{file}: {headers:?}"
            );
            let expected_type = match file.rsplit('.').next().unwrap() {
                "wasm" => "application/wasm",
                "js" => "text/javascript",
                "css" => "text/css",
                other => panic!("unexpected file type {other}"),
            };
            assert_eq!(
                header(CONTENT_TYPE).as_deref(),
                Some(expected_type),
                "{file}"
            );
            let cache = header(CACHE_CONTROL).unwrap();
            if file == "upsell.js" {
                assert_eq!(cache, "public, max-age=300, must-revalidate");
            } else {
                assert_eq!(cache, "public, max-age=31536000, immutable", "{file}");
            }
            let body = response.bytes().await.unwrap();
            let on_disk = std::fs::read(dist.join(format!("{file}{suffix}"))).unwrap();
            assert_eq!(body.as_ref(), on_disk.as_slice(), "{file}{suffix}");
            if encoding.is_some() {
                assert!(body.len() < raw.len(), "{file}{suffix} is not smaller");
            }
        }
    }
}

#[tokio::test]
async fn a_returning_browser_gets_a_304_for_the_loader_and_nothing_else_to_ask() {
    let stack = stack_serving_the_widget().await;
    let first = stack
        .http
        .get(format!("{}/upsell.js", stack.proxy_url))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    let last_modified = first.headers()[LAST_MODIFIED].clone();
    let again = stack
        .http
        .get(format!("{}/upsell.js", stack.proxy_url))
        .header(ACCEPT_ENCODING, "br")
        .header(IF_MODIFIED_SINCE, last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        again.headers()[CACHE_CONTROL],
        "public, max-age=300, must-revalidate"
    );
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn pages_beside_the_widget_are_revalidated_and_missing_files_are_404() {
    let stack = stack_serving_the_widget().await;
    let page = stack
        .http
        .get(format!("{}/", stack.proxy_url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CACHE_CONTROL], "no-cache");
    let missing = stack
        .http
        .get(format!(
            "{}/dodo-upsell.0123456789abcdef.js",
            stack.proxy_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get(CACHE_CONTROL).is_none());
    let error: Value = missing.json().await.unwrap();
    assert_eq!(error["code"], "not_found");
}

#[tokio::test]
async fn the_widgets_error_reports_are_counted_and_bad_ones_refused() {
    let stack = stack_serving_the_widget().await;
    let url = format!("{}/v1/widget/errors", stack.proxy_url);
    // As a beacon sends it: JSON as text/plain.
    for _ in 0..2 {
        let answer = stack
            .http
            .post(&url)
            .header(CONTENT_TYPE, "text/plain;charset=UTF-8")
            .body(json!({"kind": "part_unavailable", "part": "plan_change"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }
    assert_eq!(stack.parts_unavailable("plan_change").await.unwrap(), 2);

    for (body, status, code) in [
        (
            json!({"kind": "part_unavailable", "part": "x".repeat(500)}).to_string(),
            422,
            "unknown_part",
        ),
        (
            json!({"kind": "boom", "part": "language"}).to_string(),
            422,
            "unknown_kind",
        ),
        (
            json!({"kind": "part_unavailable"}).to_string(),
            422,
            "invalid_body",
        ),
        (
            json!({"kind": "part_unavailable", "part": "language", "customer": "c"}).to_string(),
            422,
            "invalid_body",
        ),
        ("not json".to_string(), 400, "invalid_body"),
    ] {
        let answer = stack
            .http
            .post(&url)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{body}");
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error["code"], code, "{body}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(stack.parts_unavailable("language").await.unwrap(), 0);
    assert_eq!(stack.parts_unavailable("plan_change").await.unwrap(), 2);
}
