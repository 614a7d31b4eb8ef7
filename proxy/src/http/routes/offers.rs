//! `GET /v1/offers?payment_id=pay_…&locale=pt-BR`: the offers for a purchase that has just succeeded (see
//! `offers::lookup`), and after a subscription purchase the plan changes open to the new
//! subscriber (see `plan_changes::offered`). In strict mode the merchant's purchase token for
//! that payment comes as `Authorization: Bearer <token>` (see `offers::purchase_token`).

use crate::http::customer_locale;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::offers::{holdout, lookup, purchase_token};
use crate::plan_changes::offered;
use crate::storage::offered_purchases::Arm;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;
use upsell_wire::OffersResponse;

#[derive(Debug, Deserialize)]
pub struct OffersQuery {
    payment_id: String,
    /// The customer's language, for the merchant's words (`http::customer_locale`).
    locale: Option<String>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<OffersQuery>, QueryRejection>,
) -> Result<Json<OffersResponse>, ApiError> {
    let Query(query) = query?;
    check_payment_id(&query.payment_id)?;
    let locale = customer_locale::checked(query.locale.as_deref());
    // In a header, like the account token, so that it stays out of access logs.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    purchase_token::check(&state.offers, token, &query.payment_id)?;
    let purchase = lookup::paid_purchase(&state.offers, &query.payment_id).await?;
    // After a subscription purchase, the new subscriber may also change plan, unless they are
    // held out (they are shown nothing after a purchase). Both are read at the same time.
    let held_out = holdout::arm(
        &state.offers.rules.current(),
        &purchase.payment.customer.customer_id,
    ) == Arm::Holdout;
    let plan_changes = async {
        if held_out {
            return Vec::new();
        }
        offered::after_purchase(
            &state.plan_changes,
            &purchase.payment,
            purchase.expires_at,
            purchase.now,
            locale,
        )
        .await
    };
    let (plan_changes, response) = tokio::join!(
        plan_changes,
        lookup::one_click_offers(&state.offers, &purchase, locale)
    );
    let mut response = response?;
    response.plan_changes = plan_changes;
    Ok(Json(response))
}

/// Dodo payment ids are `pay_` and a short alphanumeric id; anything else is refused before
/// it reaches Dodo's URL.
fn check_payment_id(id: &str) -> Result<(), ApiError> {
    let well_formed = id.starts_with("pay_")
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_payment_id",
            "payment_id must look like pay_…",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_are_checked_before_they_reach_a_url() {
        assert!(check_payment_id("pay_abc123").is_ok());
        assert!(check_payment_id("pay_../../customers").is_err());
        assert!(check_payment_id("cus_123").is_err());
        assert!(check_payment_id(&format!("pay_{}", "a".repeat(80))).is_err());
    }
}
