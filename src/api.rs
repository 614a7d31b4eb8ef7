//! The widget's typed client for the upsell proxy. The proxy's base URL comes from the
//! element's `endpoint` attribute; every type is shared with the proxy through `upsell-wire`.
//!
//! JSON is read and written by the browser's own `JSON`, with `serde-wasm-bindgen` between
//! JavaScript values and our types: no JSON parser is compiled into the widget.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde::Serialize;
use upsell_wire::{
    paths, AcceptRequest, AcceptResponse, ApiError, CheckoutRequest, CheckoutResponse,
    ConfirmPlanChangeRequest, DeclineRequest, DeclineResponse, ImpressionRequest, Offer,
    PaymentMethod, PlanChangePreview, PlanChangeRequest, PlanChangeResult, WidgetErrorReport,
    WithdrawRequest, WithdrawResult,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::js_sys::Promise;

/// Why a call to the proxy did not give an answer the widget can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The proxy answered with an error.
    Refused(ApiError),
    /// The proxy could not be reached, or answered with something that is not our JSON.
    Unreachable(String),
}

/// `upsell_wire::OffersResponse` as the widget first reads it. Its plan changes are read by the
/// plan change's own part (`views::plan_flow`, fetched on demand), so they are kept as the
/// browser parsed them: the main module carries no code to read them.
#[derive(Debug, Deserialize)]
pub struct OffersAnswer {
    pub offers: Vec<Offer>,
    pub payment_methods: Vec<PaymentMethod>,
    /// `Vec<upsell_wire::PlanChange>`, unread.
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub plan_changes: JsValue,
}

/// `upsell_wire::PlanChangesResponse` as the widget first reads it (see [`OffersAnswer`]).
#[derive(Debug, Deserialize)]
pub struct PlanChangesAnswer {
    /// `Vec<upsell_wire::PlanChange>`, unread.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub plan_changes: JsValue,
    /// `Option<upsell_wire::PlanChange>`, unread: the change already scheduled.
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub scheduled: JsValue,
}

impl PlanChangesAnswer {
    /// What the account page shows: the change already scheduled (which may be undone), or
    /// the changes offered.
    pub fn entries(&self) -> Vec<JsValue> {
        let mut entries = array_items(&self.plan_changes);
        if self.scheduled.is_object() {
            entries.insert(0, self.scheduled.clone());
        }
        entries
    }
}

/// The items of a JSON array the browser parsed; none when it is not an array.
pub fn array_items(value: &JsValue) -> Vec<JsValue> {
    value
        .dyn_ref::<web_sys::js_sys::Array>()
        .map(|array| array.iter().collect())
        .unwrap_or_default()
}

/// Offers for a purchase, with the merchant's words in `locale`; with the merchant's purchase
/// token for it when the page has one (a proxy in strict mode offers nothing without it).
pub async fn fetch_offers(
    endpoint: &str,
    payment_id: &str,
    purchase_token: Option<&str>,
    locale: &str,
) -> Result<OffersAnswer, ApiFailure> {
    let query = [("payment_id", payment_id), ("locale", locale)];
    get(endpoint, paths::OFFERS, &query, purchase_token).await
}

/// `GET` of `path` with `query`, and the token the page holds (an account or a purchase token)
/// in a header, so that it stays out of the URL and the access logs. One function for both
/// first requests: the widget carries its code once.
async fn get<R: DeserializeOwned>(
    endpoint: &str,
    path: &str,
    query: &[(&str, &str)],
    bearer: Option<&str>,
) -> Result<R, ApiFailure> {
    let url = format!("{}{}", base(endpoint), path);
    let mut request = Request::get(&url).query(query.iter().copied());
    if let Some(token) = bearer {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    from_json(send(request).await?)
}

/// The answer to a request the loader (`embed/upsell.js`) sent before the wasm was ready: the
/// same request as `fetch_offers` or `fetch_plan_changes`, as a `fetch()` promise.
pub async fn read_first_answer<T: DeserializeOwned>(answer: Promise) -> Result<T, ApiFailure> {
    let response = JsFuture::from(answer)
        .await
        .map_err(|_| ApiFailure::Unreachable("the upsell service could not be reached".into()))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| {
        ApiFailure::Unreachable("the loader's first request gave no response".into())
    })?;
    from_json(read(Response::from(response)).await?)
}

/// Accepts an offer. A retry must send the same `idempotency_key`.
pub async fn accept(endpoint: &str, request: &AcceptRequest) -> Result<AcceptResponse, ApiFailure> {
    post(endpoint, paths::ACCEPT, request).await
}

/// Where an accepted offer's charge stands now.
pub async fn accept_status(endpoint: &str, accept_id: &str) -> Result<AcceptResponse, ApiFailure> {
    let url = format!("{}{}/{}", base(endpoint), paths::ACCEPTS, accept_id);
    from_json(send(Request::get(&url)).await?)
}

/// Declines an offer.
pub async fn decline(
    endpoint: &str,
    request: &DeclineRequest,
) -> Result<DeclineResponse, ApiFailure> {
    post(endpoint, paths::DECLINE, request).await
}

/// Tells the proxy the customer has seen an offer, as a beacon: nothing waits for or reads the
/// answer, and it is sent even when the page is being left. Its body is JSON sent as
/// `text/plain`, which a beacon may send to another origin without a preflight (the proxy
/// reads the body whatever its type). Counting is the proxy's; a lost report costs one
/// impression, never the offer.
pub fn report_impression(endpoint: &str, request: &ImpressionRequest) {
    if let Ok(body) = json_text(request) {
        let _ = send_beacon(&format!("{}{}", base(endpoint), paths::IMPRESSION), &body);
    }
}

/// Tells the proxy, for its metrics, that something went wrong in the widget; a beacon, like
/// an impression.
pub fn report_widget_error(endpoint: &str, report: &WidgetErrorReport) {
    if let Ok(body) = json_text(report) {
        let _ = send_beacon(
            &format!("{}{}", base(endpoint), paths::WIDGET_ERRORS),
            &body,
        );
    }
}

/// A standard Dodo checkout for an offered item, when one click cannot pay.
pub async fn checkout(
    endpoint: &str,
    request: &CheckoutRequest,
) -> Result<CheckoutResponse, ApiFailure> {
    post(endpoint, paths::CHECKOUT, request).await
}

/// The plan changes open to the subscriber an account token names (the account page), with
/// the merchant's feature rows in `locale`.
pub async fn fetch_plan_changes(
    endpoint: &str,
    account_token: &str,
    locale: &str,
) -> Result<PlanChangesAnswer, ApiFailure> {
    get(
        endpoint,
        paths::PLAN_CHANGES,
        &[("locale", locale)],
        Some(account_token),
    )
    .await
}

/// What a plan change will cost, from Dodo's preview.
pub async fn preview_plan_change(
    endpoint: &str,
    request: &PlanChangeRequest,
) -> Result<PlanChangePreview, ApiFailure> {
    post(endpoint, paths::PLAN_CHANGE_PREVIEW, request).await
}

/// Makes a plan change. A retry must send the same `idempotency_key`.
pub async fn confirm_plan_change(
    endpoint: &str,
    request: &ConfirmPlanChangeRequest,
) -> Result<PlanChangeResult, ApiFailure> {
    post(endpoint, paths::PLAN_CHANGE_CONFIRM, request).await
}

/// Undoes a change scheduled for the next billing date. A retry must send the same
/// `idempotency_key`.
pub async fn withdraw_plan_change(
    endpoint: &str,
    request: &WithdrawRequest,
) -> Result<WithdrawResult, ApiFailure> {
    post(endpoint, paths::PLAN_CHANGE_WITHDRAW, request).await
}

/// Where a plan change stands now.
pub async fn plan_change_status(
    endpoint: &str,
    change_ref: &str,
) -> Result<PlanChangeResult, ApiFailure> {
    let url = format!(
        "{}{}/{}",
        base(endpoint),
        paths::PLAN_CHANGE_STATUS,
        change_ref
    );
    from_json(send(Request::get(&url)).await?)
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn json_parse(text: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = JSON, js_name = stringify, catch)]
    fn json_stringify(value: &JsValue) -> Result<JsValue, JsValue>;

    /// `navigator.sendBeacon` with a string body (sent as `text/plain`). It throws on a URL it
    /// cannot use; whether it queued the beacon changes nothing for us.
    #[wasm_bindgen(js_namespace = navigator, js_name = sendBeacon, catch)]
    fn send_beacon(url: &str, body: &str) -> Result<bool, JsValue>;
}

/// POSTs `body` as JSON to `path` of the proxy and reads the answer. Only the encoding and
/// the decoding are generic: the request and its answer are one function for every route, so
/// that the widget carries their code once, not once per type.
async fn post<B: Serialize, R: DeserializeOwned>(
    endpoint: &str,
    path: &str,
    body: &B,
) -> Result<R, ApiFailure> {
    let url = format!("{}{}", base(endpoint), path);
    from_json(post_text(&url, json_text(body)?).await?)
}

/// POSTs a JSON text and reads the answer.
async fn post_text(url: &str, body: String) -> Result<JsValue, ApiFailure> {
    let request = Request::post(url)
        .header("content-type", "application/json")
        .body(body)
        .map_err(unreachable)?;
    send_built(request).await
}

/// Sends a GET and reads the answer.
async fn send(request: gloo_net::http::RequestBuilder) -> Result<JsValue, ApiFailure> {
    let request = request.build().map_err(unreachable)?;
    send_built(request).await
}

async fn send_built(request: gloo_net::http::Request) -> Result<JsValue, ApiFailure> {
    read(request.send().await.map_err(unreachable)?).await
}

/// Our type, from JSON the browser parsed.
fn from_json<T: DeserializeOwned>(value: JsValue) -> Result<T, ApiFailure> {
    serde_wasm_bindgen::from_value(value).map_err(|e| ApiFailure::Unreachable(e.to_string()))
}

/// `body` as JSON text, written by the browser's `JSON.stringify`.
fn json_text<T: Serialize>(body: &T) -> Result<String, ApiFailure> {
    let value =
        serde_wasm_bindgen::to_value(body).map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
    stringify(&value)
}

fn stringify(value: &JsValue) -> Result<String, ApiFailure> {
    json_stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| ApiFailure::Unreachable("cannot encode the request".into()))
}

/// Parses a JSON body with the browser's `JSON.parse`.
async fn parse(response: &Response) -> Result<JsValue, ApiFailure> {
    let text = response.text().await.map_err(unreachable)?;
    json_parse(&text).map_err(|_| {
        ApiFailure::Unreachable("the upsell service sent something that is not JSON".into())
    })
}

fn base(endpoint: &str) -> &str {
    endpoint.trim_end_matches('/')
}

fn unreachable(error: gloo_net::Error) -> ApiFailure {
    ApiFailure::Unreachable(error.to_string())
}

/// The answer's JSON, or why there is none: the proxy's error, or something not ours.
async fn read(response: Response) -> Result<JsValue, ApiFailure> {
    if response.ok() {
        parse(&response).await
    } else {
        match parse(&response).await.and_then(from_json::<ApiError>) {
            Ok(error) => Err(ApiFailure::Refused(error)),
            Err(_) => Err(ApiFailure::Unreachable(format!(
                "HTTP {} from the upsell service",
                response.status()
            ))),
        }
    }
}
