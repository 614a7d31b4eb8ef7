//! The widget's typed client for the upsell proxy. The proxy's base URL comes from the
//! element's `endpoint` attribute; every type is shared with the proxy through `upsell-wire`.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use upsell_wire::{
    paths, AcceptRequest, AcceptResponse, ApiError, DeclineRequest, DeclineResponse, OffersResponse,
};

/// Why a call to the proxy did not give an answer the widget can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The proxy answered with an error.
    Refused(ApiError),
    /// The proxy could not be reached, or answered with something that is not our JSON.
    Unreachable(String),
}

/// Offers for a purchase.
pub async fn fetch_offers(endpoint: &str, payment_id: &str) -> Result<OffersResponse, ApiFailure> {
    let url = format!("{}{}", base(endpoint), paths::OFFERS);
    let response = Request::get(&url)
        .query([("payment_id", payment_id)])
        .send()
        .await
        .map_err(unreachable)?;
    read(response).await
}

/// Accepts an offer. A retry must send the same `idempotency_key`.
pub async fn accept(endpoint: &str, request: &AcceptRequest) -> Result<AcceptResponse, ApiFailure> {
    let url = format!("{}{}", base(endpoint), paths::ACCEPT);
    let response = Request::post(&url)
        .json(request)
        .map_err(unreachable)?
        .send()
        .await
        .map_err(unreachable)?;
    read(response).await
}

/// Where an accepted offer's charge stands now.
pub async fn accept_status(endpoint: &str, accept_id: &str) -> Result<AcceptResponse, ApiFailure> {
    let url = format!("{}{}/{}", base(endpoint), paths::ACCEPTS, accept_id);
    let response = Request::get(&url).send().await.map_err(unreachable)?;
    read(response).await
}

/// Declines an offer.
pub async fn decline(
    endpoint: &str,
    request: &DeclineRequest,
) -> Result<DeclineResponse, ApiFailure> {
    let url = format!("{}{}", base(endpoint), paths::DECLINE);
    let response = Request::post(&url)
        .json(request)
        .map_err(unreachable)?
        .send()
        .await
        .map_err(unreachable)?;
    read(response).await
}

fn base(endpoint: &str) -> &str {
    endpoint.trim_end_matches('/')
}

fn unreachable(error: gloo_net::Error) -> ApiFailure {
    ApiFailure::Unreachable(error.to_string())
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiFailure> {
    if response.ok() {
        response.json::<T>().await.map_err(unreachable)
    } else {
        match response.json::<ApiError>().await {
            Ok(error) => Err(ApiFailure::Refused(error)),
            Err(_) => Err(ApiFailure::Unreachable(format!(
                "HTTP {} from the upsell service",
                response.status()
            ))),
        }
    }
}
