//! Every error the proxy answers with: a status and `{code, message}` (see `upsell_wire::ApiError`).
//! The caller's mistakes are 4xx; Dodo's trouble is 502/503/504; nothing on bad input is a 500.
//! The product's concerns have errors of their own; this is the one place they become HTTP.

use crate::charging::AcceptError;
use crate::offers::OfferError;
use crate::plan_changes::PlanChangeError;
use crate::tokens::TokenError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use upsell_wire::ApiError as WireError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn upstream(error: &dodopayments::Error) -> Self {
        tracing::warn!(%error, "Dodo call failed");
        Self::new(
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            "the payment provider could not be reached; try again shortly",
        )
    }

    /// A refusal only its status describes (axum's own rejections, the file server's, a bare
    /// status): the status's stable code, and `detail`, what the refusal said in plain text,
    /// as its message when there is one.
    pub fn for_status(status: StatusCode, detail: Option<String>) -> Self {
        let (code, message) = status_code(status);
        match detail {
            // The limit is ours to state; axum's text ("length limit exceeded") does not say it.
            Some(detail) if status != StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(status, code, detail)
            }
            _ => Self::new(status, code, message),
        }
    }

    pub fn storage(error: &sqlx::Error) -> Self {
        tracing::error!(%error, "storage error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the upsell service cannot record this right now; try again shortly",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = WireError {
            code: self.code.to_string(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

/// A JSON body that could not be read: too large or not JSON by its type (the same codes as
/// on every other route), or JSON that does not parse or has the wrong shape (`invalid_body`).
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        match rejection.status() {
            status @ (StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE) => {
                Self::for_status(status, Some(rejection.body_text()))
            }
            status => Self::new(status, "invalid_body", rejection.body_text()),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}

/// A token the request carries: not ours, tampered with, or expired.
impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the offer token is not valid",
            ),
            TokenError::Expired => {
                ApiError::new(StatusCode::GONE, "offer_expired", "this offer has expired")
            }
        }
    }
}

impl From<OfferError> for ApiError {
    fn from(error: OfferError) -> Self {
        match error {
            OfferError::PaymentNotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "payment_not_found",
                "no payment with this id",
            ),
            OfferError::PaymentNotSucceeded => ApiError::new(
                StatusCode::CONFLICT,
                "payment_not_succeeded",
                "offers follow only a purchase that succeeded",
            ),
            OfferError::WindowClosed => ApiError::new(
                StatusCode::GONE,
                "offer_window_closed",
                "the offers for this purchase have expired",
            ),
            OfferError::UnreadableDate => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_invalid",
                "the payment provider sent an unreadable date",
            ),
            OfferError::InvalidToken => TokenError::Invalid.into(),
            OfferError::PurchaseTokenMissing => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "purchase_token_required",
                "this proxy offers only with the merchant's purchase token: \
                 `Authorization: Bearer <token>`",
            ),
            OfferError::PurchaseTokenInvalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_purchase_token",
                "the purchase token is not valid for this payment",
            ),
            OfferError::PurchaseTokenExpired => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "purchase_token_expired",
                "the purchase token has expired",
            ),
            OfferError::Upstream(error) => ApiError::upstream(&error),
            OfferError::Storage(error) => ApiError::storage(&error),
            OfferError::Signing(error) => {
                tracing::error!(%error, "cannot sign offer token");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "signing_failed",
                    "the offer could not be prepared",
                )
            }
        }
    }
}

impl From<AcceptError> for ApiError {
    fn from(error: AcceptError) -> Self {
        match error {
            AcceptError::InvalidIdempotencyKey => invalid_idempotency_key(),
            AcceptError::InvalidQuantity { min, max } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_quantity",
                format!("quantity must be between {min} and {max}"),
            ),
            AcceptError::QuantityTooLarge => {
                ApiError::bad_request("invalid_quantity", "quantity is too large")
            }
            AcceptError::Declined => ApiError::new(
                StatusCode::CONFLICT,
                "offer_declined",
                "this offer was declined",
            ),
            AcceptError::NoPaymentMethod => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_payment_method",
                "no saved payment method can pay this offer; use the checkout instead",
            ),
            AcceptError::PaymentMethodNotAllowed => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "payment_method_not_allowed",
                "this payment method cannot be used for this offer",
            ),
            AcceptError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this idempotency key was already used for another offer",
            ),
            AcceptError::LimitReached => ApiError::new(
                StatusCode::CONFLICT,
                "offer_limit_reached",
                "this purchase has accepted as many offers as it may",
            ),
            AcceptError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "accept_not_found", "no such accept")
            }
            AcceptError::AlreadyAccepted => ApiError::new(
                StatusCode::CONFLICT,
                "already_accepted",
                "this item was already added to the order",
            ),
            AcceptError::NoCheckoutPage => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_invalid",
                "the payment provider did not return a checkout page",
            ),
            AcceptError::Upstream(error) => ApiError::upstream(&error),
            AcceptError::Storage(error) => ApiError::storage(&error),
        }
    }
}

impl From<PlanChangeError> for ApiError {
    fn from(error: PlanChangeError) -> Self {
        match error {
            PlanChangeError::Token(error) => error.into(),
            PlanChangeError::InvalidToken => TokenError::Invalid.into(),
            PlanChangeError::NotTheCustomers => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the plan change token is not valid",
            ),
            PlanChangeError::Withdrawn => ApiError::new(
                StatusCode::GONE,
                "plan_change_withdrawn",
                "this plan change is no longer offered",
            ),
            PlanChangeError::SubscriptionNotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "subscription_not_found",
                "no subscription with this id",
            ),
            PlanChangeError::AlreadyChanged => ApiError::new(
                StatusCode::CONFLICT,
                "plan_already_changed",
                "the subscription is no longer on the plan this change starts from, or a change is already scheduled",
            ),
            PlanChangeError::Refused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plan_change_refused",
                "this plan change is not possible for this subscription",
            ),
            PlanChangeError::PreviewChanged { amount, currency } => ApiError::new(
                StatusCode::CONFLICT,
                "preview_changed",
                format!("the amount due is now {amount} {currency}; review the change again"),
            ),
            PlanChangeError::InProgress => ApiError::new(
                StatusCode::CONFLICT,
                "change_in_progress",
                "another plan change of this subscription is under way",
            ),
            PlanChangeError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this idempotency key was already used for another change",
            ),
            PlanChangeError::InvalidIdempotencyKey => invalid_idempotency_key(),
            PlanChangeError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "plan_change_not_found",
                "no such plan change",
            ),
            PlanChangeError::NotFollowed => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the plan change could not be followed; ask for its status",
            ),
            PlanChangeError::Upstream(error) => ApiError::upstream(&error),
            PlanChangeError::Storage(error) => ApiError::storage(&error),
            PlanChangeError::Signing(error) => {
                tracing::error!(%error, "cannot sign plan change token");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "signing_failed",
                    "the plan change could not be prepared",
                )
            }
        }
    }
}

fn invalid_idempotency_key() -> ApiError {
    ApiError::bad_request(
        "invalid_idempotency_key",
        "idempotency_key must be 8 to 128 letters, digits, '-' or '_'",
    )
}

/// The stable code of a refusal known only by its status, and what to say when nothing else
/// does.
fn status_code(status: StatusCode) -> (&'static str, String) {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "this needs a credential"),
        StatusCode::FORBIDDEN => ("forbidden", "this is not allowed"),
        StatusCode::NOT_FOUND => ("not_found", "there is nothing at this path"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this path does not take that method")
        }
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long to arrive"),
        StatusCode::LENGTH_REQUIRED => ("length_required", "the request must say its length"),
        StatusCode::PAYLOAD_TOO_LARGE => {
            return (
                "payload_too_large",
                format!(
                    "request bodies are limited to {} KB",
                    super::MAX_BODY_BYTES / 1024
                ),
            )
        }
        StatusCode::URI_TOO_LONG => ("uri_too_long", "the URL is too long"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the body as JSON, with `content-type: application/json`",
        ),
        StatusCode::RANGE_NOT_SATISFIABLE => (
            "range_not_satisfiable",
            "the requested range is not in the file",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid_body", "the body has the wrong shape"),
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "too many requests; try again later"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("headers_too_large", "the request's headers are too large")
        }
        StatusCode::BAD_GATEWAY => (
            "upstream_unavailable",
            "the payment provider could not be reached; try again shortly",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "the upsell service cannot answer right now; try again shortly",
        ),
        StatusCode::GATEWAY_TIMEOUT => (
            "upstream_timeout",
            "the payment provider did not answer in time; try again shortly",
        ),
        status if status.is_client_error() => ("refused", "the request was refused"),
        _ => ("internal", "the upsell service could not answer this"),
    };
    (code, message.to_string())
}
