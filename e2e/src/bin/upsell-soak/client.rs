//! The customers' side of the proxy's API: every call goes to one of the proxy instances and
//! its answer is judged against the API's promise: 2xx, or a refusal with `{code, message}`
//! (4xx, or 502/503 when Dodo or the database cannot be reached). A 500, an error without the
//! JSON shape, or no answer within the client's patience is recorded as a bad answer; a
//! connection cut by a killed instance is what a customer's browser would see too, and is only
//! counted.

use crate::journal::Journal;
use serde_json::Value;
use std::time::Duration;

/// Longer than any answer should take (the proxy gives Dodo 1 s, the database pool a few).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One answer of the proxy.
#[derive(Debug, Clone)]
pub enum Answer {
    Ok(Value),
    /// A well-formed refusal: its status and `code`.
    Refused(u16, String),
    /// No answer: the instance was killed, restarting, or the answer was bad (recorded).
    Lost,
}

impl Answer {
    pub fn ok(self) -> Option<Value> {
        match self {
            Answer::Ok(value) => Some(value),
            _ => None,
        }
    }
}

pub struct Client {
    pub http: reqwest::Client,
    /// The proxy instances' base URLs.
    pub proxies: Vec<String>,
}

impl Client {
    /// `GET` or `POST` (with a JSON body) `path` on instance `instance`, judged and counted.
    pub async fn call(
        &self,
        journal: &Journal,
        instance: usize,
        route: &str,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> Answer {
        let url = format!("{}{path}", self.proxies[instance % self.proxies.len()]);
        let mut request = match body {
            Some(body) => self.http.post(&url).json(body),
            None => self.http.get(&url),
        };
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = match request.timeout(PATIENCE).send().await {
            Ok(response) => response,
            Err(error) if error.is_timeout() => {
                journal.bad_answer(format!("{route}: no answer within {PATIENCE:?}"));
                return Answer::Lost;
            }
            Err(_) => {
                journal.answer("cut off (instance down)".into());
                return Answer::Lost;
            }
        };
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let text = match response.text().await {
            Ok(text) => text,
            Err(_) => {
                journal.answer("cut off (instance down)".into());
                return Answer::Lost;
            }
        };
        let json: Option<Value> = if is_json {
            serde_json::from_str(&text).ok()
        } else {
            None
        };
        match (status, json) {
            (200..=299, Some(value)) => {
                journal.answer("2xx".into());
                Answer::Ok(value)
            }
            (400..=499 | 502 | 503, Some(value))
                if value["code"].is_string() && value["message"].is_string() =>
            {
                let code = value["code"].as_str().unwrap_or_default().to_string();
                journal.answer(format!("{status} {code}"));
                Answer::Refused(status, code)
            }
            _ => {
                let excerpt: String = text.chars().take(160).collect();
                journal.bad_answer(format!("{route}: {status} {excerpt}"));
                Answer::Lost
            }
        }
    }
}
