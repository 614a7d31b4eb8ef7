//! Dodo's webhooks: verifying them (Standard Webhooks), and what the proxy takes from a body:
//! the event type and, for `payment.*` events of upsell charges, the accept they settle and how.
//! Bodies are parsed only after their signature has been verified, but the parser must stand any
//! input (`fuzz/fuzz_targets/webhook.rs`). What each event changes is each concern's to decide
//! (`charging::payment_events`, `plan_changes`, `analytics::revenue`).

use super::metadata::{ACCEPT_ID, PLAN_CHANGE_REF};
use axum::http::HeaderMap;
use dodopayments::models::{WebhookEventType, WebhookPayload};
use standardwebhooks::{Webhook, WebhookError};

/// Timestamps further than this from now are refused before `standardwebhooks` sees them:
/// its tolerance check subtracts without checking (1.0.1 panics in debug builds, and wraps past
/// the check in release builds, on a timestamp near `i64::MIN`). Far wider than the ±5 min
/// tolerance the crate then applies.
const SANE_TIMESTAMP_RANGE_SECS: i64 = 365 * 24 * 3600;

/// Verifies a webhook per Standard Webhooks (±5 min), refusing absurd timestamps first.
pub fn verify(verifier: &Webhook, body: &[u8], headers: &HeaderMap) -> Result<(), WebhookError> {
    let timestamp = headers
        .get("webhook-timestamp")
        .ok_or(WebhookError::MissingHeader("timestamp"))?
        .to_str()
        .map_err(|_| WebhookError::InvalidHeader("timestamp"))?
        .trim()
        .parse::<i64>()
        .map_err(|_| WebhookError::InvalidTimestamp)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if timestamp.abs_diff(now) > SANE_TIMESTAMP_RANGE_SECS.unsigned_abs() {
        return Err(WebhookError::InvalidTimestamp);
    }
    verifier.verify(body, headers)
}

/// What a `payment.*` event says of its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    Succeeded,
    /// Failed or cancelled: Dodo's error code (lower-cased) and message.
    Failed {
        code: String,
        reason: String,
    },
    Processing,
}

/// A payment event about one of our accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    pub accept_id: String,
    pub outcome: PaymentOutcome,
    /// The charge's payment, and the checkout session it was made in: what the accept is
    /// followed by from then on.
    pub payment_id: Option<String>,
    pub checkout_session_id: Option<String>,
}

/// A `payment.succeeded` event: what was paid, and in which checkout session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidEvent {
    pub payment_id: String,
    /// What the payment earned: its total less taxes, in minor units.
    pub amount: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub checkout_session_id: Option<String>,
}

/// A `refund.succeeded` event: money given back on a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundEvent {
    pub refund_id: String,
    /// The payment refunded.
    pub payment_id: String,
    /// Minor units; `None` means the whole payment.
    pub amount: Option<i64>,
}

/// A webhook body, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `payment.succeeded`, `subscription.updated`, …
    pub event_type: String,
    /// Set for `payment.*` events of upsell charges.
    pub payment: Option<PaymentEvent>,
    /// The plan change a `payment.*` event's payment belongs to, if any.
    pub plan_change_ref: Option<String>,
    /// The subscription of a `subscription.*` event.
    pub subscription_id: Option<String>,
    /// Set for `payment.succeeded`.
    pub paid: Option<PaidEvent>,
    /// Set for `refund.succeeded`.
    pub refund: Option<RefundEvent>,
}

/// Parses a webhook body (Dodo's envelope `{business_id, type, timestamp, data}`).
pub fn parse(body: &[u8]) -> Result<WebhookEvent, serde_json::Error> {
    let payload: WebhookPayload = serde_json::from_slice(body)?;
    let event_type = serde_json::to_value(&payload.r#type)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "unknown".into());
    let text = |name: &str| payload.data.get(name).and_then(|v| v.as_str());
    let outcome = match payload.r#type.as_ref() {
        WebhookEventType::PaymentSucceeded => Some(PaymentOutcome::Succeeded),
        WebhookEventType::PaymentFailed | WebhookEventType::PaymentCancelled => {
            Some(PaymentOutcome::Failed {
                code: text("error_code")
                    .map(str::to_lowercase)
                    .unwrap_or_else(|| "payment_failed".into()),
                reason: text("error_message")
                    .unwrap_or("The payment did not go through.")
                    .to_string(),
            })
        }
        WebhookEventType::PaymentProcessing => Some(PaymentOutcome::Processing),
        _ => None,
    };
    let accept_id = payload
        .data
        .get("metadata")
        .and_then(|m| m.get(ACCEPT_ID))
        .and_then(|v| v.as_str());
    let payment = match (outcome, accept_id) {
        (Some(outcome), Some(accept_id)) => Some(PaymentEvent {
            accept_id: accept_id.to_string(),
            outcome,
            payment_id: text("payment_id").map(String::from),
            checkout_session_id: text("checkout_session_id").map(String::from),
        }),
        _ => None,
    };
    let plan_change_ref = payload
        .data
        .get("metadata")
        .and_then(|m| m.get(PLAN_CHANGE_REF))
        .and_then(|v| v.as_str())
        .map(String::from);
    let subscription_id = event_type
        .starts_with("subscription.")
        .then(|| {
            payload
                .data
                .get("subscription_id")?
                .as_str()
                .map(String::from)
        })
        .flatten();
    let amount = |name: &str| payload.data.get(name).and_then(|v| v.as_i64());
    let paid = match (
        event_type.as_str(),
        text("payment_id"),
        amount("total_amount"),
        text("currency"),
    ) {
        ("payment.succeeded", Some(payment_id), Some(total), Some(currency)) => Some(PaidEvent {
            payment_id: payment_id.to_string(),
            // Taxes are collected for the state, not earned.
            amount: total - amount("tax").unwrap_or(0),
            currency: currency.to_uppercase(),
            checkout_session_id: text("checkout_session_id").map(String::from),
        }),
        _ => None,
    };
    let refund = match (event_type.as_str(), text("refund_id"), text("payment_id")) {
        ("refund.succeeded", Some(refund_id), Some(payment_id)) => Some(RefundEvent {
            refund_id: refund_id.to_string(),
            payment_id: payment_id.to_string(),
            amount: amount("amount"),
        }),
        _ => None,
    };
    Ok(WebhookEvent {
        event_type,
        payment,
        plan_change_ref,
        subscription_id,
        paid,
        refund,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_upsell_payment_names_its_accept_and_reason() {
        let body = br#"{"business_id":"b","type":"payment.failed","timestamp":"t",
            "data":{"metadata":{"upsell_accept_id":"acc_1"},"payment_id":"pay_1","error_code":"CARD_DECLINED","error_message":"Declined."}}"#;
        let event = parse(body).unwrap();
        assert_eq!(event.event_type, "payment.failed");
        assert_eq!(
            event.payment,
            Some(PaymentEvent {
                accept_id: "acc_1".into(),
                outcome: PaymentOutcome::Failed {
                    code: "card_declined".into(),
                    reason: "Declined.".into(),
                },
                payment_id: Some("pay_1".into()),
                checkout_session_id: None,
            })
        );
    }

    #[test]
    fn a_succeeded_payment_carries_what_was_charged_and_a_refund_what_was_given_back() {
        let paid = br#"{"business_id":"b","type":"payment.succeeded","timestamp":"t",
            "data":{"metadata":{"upsell_accept_id":"acc_1"},"payment_id":"pay_9","total_amount":5400,
            "tax":400,"currency":"usd","checkout_session_id":"cks_1"}}"#;
        let event = parse(paid).unwrap();
        assert_eq!(
            event.paid,
            Some(PaidEvent {
                payment_id: "pay_9".into(),
                amount: 5000,
                currency: "USD".into(),
                checkout_session_id: Some("cks_1".into()),
            })
        );
        let refund = br#"{"business_id":"b","type":"refund.succeeded","timestamp":"t",
            "data":{"refund_id":"ref_1","payment_id":"pay_9","amount":400,"currency":"USD",
            "business_id":"b","created_at":"t","is_partial":true,"status":"succeeded",
            "customer":{"customer_id":"c","email":"e","name":"n"},"payload_type":"Refund"}}"#;
        assert_eq!(
            parse(refund).unwrap().refund,
            Some(RefundEvent {
                refund_id: "ref_1".into(),
                payment_id: "pay_9".into(),
                amount: Some(400),
            })
        );
    }

    #[test]
    fn an_absurd_timestamp_is_refused_without_reaching_the_crate() {
        let verifier = Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", "msg_1".parse().unwrap());
        headers.insert("webhook-signature", "v1,AAAA".parse().unwrap());
        for timestamp in [
            "-9223372036854775807",
            "-9223372036854775808",
            "9223372036854775807",
            "0",
        ] {
            headers.insert("webhook-timestamp", timestamp.parse().unwrap());
            assert!(
                matches!(
                    verify(&verifier, b"{}", &headers),
                    Err(WebhookError::InvalidTimestamp)
                ),
                "{timestamp}"
            );
        }
        headers.insert("webhook-timestamp", "soon".parse().unwrap());
        assert!(verify(&verifier, b"{}", &headers).is_err());
    }

    #[test]
    fn other_events_and_other_payments_are_not_ours() {
        let sub = br#"{"business_id":"b","type":"subscription.active","timestamp":"t","data":{}}"#;
        assert_eq!(parse(sub).unwrap().payment, None);
        let plain = br#"{"business_id":"b","type":"payment.succeeded","timestamp":"t","data":{"metadata":{}}}"#;
        assert_eq!(parse(plain).unwrap().payment, None);
        assert!(parse(b"{").is_err());
    }
}
