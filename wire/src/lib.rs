//! The JSON exchanged between the upsell widget (in the customer's browser) and the upsell
//! proxy (on the merchant's server). Both sides depend on this crate, so they cannot drift.
//!
//! Money is always an integer amount in the currency's minor units (cents for USD, yen for JPY)
//! next to its ISO 4217 code. The browser only displays amounts: every amount that is charged is
//! decided by the proxy and sealed inside the offer token.

use serde::{Deserialize, Serialize};

/// Paths of the proxy's public API, relative to the proxy's base URL.
pub mod paths {
    /// `GET ?payment_id=pay_…` → [`super::OffersResponse`].
    pub const OFFERS: &str = "/v1/offers";
    /// `POST` [`super::AcceptRequest`] → [`super::AcceptResponse`].
    pub const ACCEPT: &str = "/v1/offers/accept";
    /// `POST` [`super::DeclineRequest`] → [`super::DeclineResponse`].
    pub const DECLINE: &str = "/v1/offers/decline";
    /// `POST` [`super::ImpressionRequest`] → [`super::ImpressionResponse`]: the offer was on
    /// the customer's screen.
    pub const IMPRESSION: &str = "/v1/offers/impression";
    /// `GET /v1/accepts/{accept_id}` → [`super::AcceptResponse`].
    pub const ACCEPTS: &str = "/v1/accepts";
    /// `POST` [`super::CheckoutRequest`] → [`super::CheckoutResponse`].
    pub const CHECKOUT: &str = "/v1/offers/checkout";
    /// `GET` with `Authorization: Bearer <account token>` → [`super::PlanChangesResponse`]: the
    /// plan changes a subscriber may make, on the merchant's account page.
    pub const PLAN_CHANGES: &str = "/v1/plan-changes";
    /// `POST` [`super::PlanChangeRequest`] → [`super::PlanChangePreview`].
    pub const PLAN_CHANGE_PREVIEW: &str = "/v1/plan-changes/preview";
    /// `POST` [`super::ConfirmPlanChangeRequest`] → [`super::PlanChangeResult`].
    pub const PLAN_CHANGE_CONFIRM: &str = "/v1/plan-changes/confirm";
    /// `GET /v1/plan-changes/{change_id}` → [`super::PlanChangeResult`].
    pub const PLAN_CHANGE_STATUS: &str = "/v1/plan-changes";
    /// `POST` [`super::WithdrawRequest`] → [`super::WithdrawResult`]: undoes the change
    /// scheduled for the next billing date.
    pub const PLAN_CHANGE_WITHDRAW: &str = "/v1/plan-changes/withdraw";
    /// `POST` [`super::WidgetErrorReport`] → [`super::WidgetErrorCounted`]: something went wrong
    /// in the customer's browser that the merchant should know of (counted in the metrics).
    pub const WIDGET_ERRORS: &str = "/v1/widget/errors";
}

/// An amount of money in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Minor units: 2500 is $25.00, 2500 is ¥2,500.
    pub amount: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
}

/// A saved payment method that can pay the offers: current (not expired) and able to pay their
/// currency. Listed by network and last 4 so the customer recognises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// Dodo's id for it; sent back in [`AcceptRequest::payment_method_id`] to choose it.
    pub payment_method_id: String,
    /// Card network as Dodo reports it, e.g. `Visa`.
    pub network: String,
    /// Last four digits.
    pub last4: String,
}

/// What kind of offer this is, which decides how the widget presents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    /// A better or bigger product than the one just bought.
    Upsell,
    /// Shown after the customer declined the offer before it in the chain.
    Downsell,
    /// Several related products, each added on its own.
    CrossSell,
}

/// How many units of an item the customer may add. `min == max` means no choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantityRange {
    pub min: u32,
    pub max: u32,
}

/// One product in an offer, with its own one-click add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferItem {
    /// Identifies this item's accept; equal to the offer id when the offer has one item.
    pub item_id: String,
    /// Server-signed, single-use token that authorises exactly this item. Opaque to the browser.
    pub token: String,
    /// Product name.
    pub title: String,
    /// Product description, if the product has one.
    pub description: Option<String>,
    /// Product image URL, if the product has one.
    pub image: Option<String>,
    /// What accepting charges per unit.
    pub price: Money,
    /// The price before the discount, when there is one: shown struck through.
    pub list_price: Option<Money>,
    /// The quantities the customer may choose; the smallest is preselected.
    pub quantity: QuantityRange,
}

/// One offer shown after a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The merchant's name for this offer in the offers file.
    pub offer_id: String,
    /// Upsell, downsell or cross-sell.
    pub kind: OfferKind,
    /// Social-proof badge configured by the merchant, e.g. `most_popular`, or its own words.
    pub badge: Option<String>,
    /// The products offered: one for an upsell or downsell, several for a cross-sell.
    pub items: Vec<OfferItem>,
    /// When the offer stops being valid (RFC 3339).
    pub expires_at: String,
    /// Seconds from this response until `expires_at`, so a countdown does not depend on the
    /// customer's clock being right.
    pub expires_in_seconds: i64,
    /// Whether the merchant wants the time left shown.
    pub countdown: bool,
}

/// `GET /v1/offers` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffersResponse {
    /// Offers in the order the merchant configured them; empty when there is nothing to offer.
    pub offers: Vec<Offer>,
    /// The saved methods that can pay them, the preselected one first; empty when none can,
    /// and then the widget offers a standard checkout instead of one click.
    pub payment_methods: Vec<PaymentMethod>,
    /// After a subscription purchase: the plan changes the new subscriber may make.
    #[serde(default)]
    pub plan_changes: Vec<PlanChange>,
}

/// Which way a plan change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanDirection {
    Upgrade,
    Downgrade,
}

/// When a plan change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveAt {
    Immediately,
    NextBillingDate,
}

/// A plan as the comparison shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Product name.
    pub name: String,
    /// Price per billing period, before credits and taxes.
    pub price: Money,
    /// Billing period: `interval_count` × `interval` (`day`, `week`, `month`, `year`).
    pub interval: String,
    pub interval_count: u32,
    /// The feature rows the merchant configured for this plan.
    pub features: Vec<String>,
}

/// A plan change the subscriber may make, sealed in its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChange {
    /// The rule's id in the offers file.
    pub change_id: String,
    /// Server-signed, single-use token that authorises exactly this change.
    pub token: String,
    pub direction: PlanDirection,
    /// The plan the subscriber is on.
    pub current: Plan,
    /// The plan they would move to.
    pub target: Plan,
    pub effective_at: EffectiveAt,
    /// Only in [`PlanChangesResponse::scheduled`]: the change is already scheduled, to take
    /// effect then (RFC 3339), and `token` authorises undoing exactly it (`POST
    /// /v1/plan-changes/withdraw`), not making it. One type for both, so that the widget
    /// carries one reader for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
}

/// `GET /v1/plan-changes` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChangesResponse {
    pub plan_changes: Vec<PlanChange>,
    /// The change already scheduled for the next billing date, which the subscriber may still
    /// undo (on the account page only; no other change is offered meanwhile), with its
    /// `scheduled_for` date and a token that undoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<PlanChange>,
}

/// `POST /v1/plan-changes/withdraw` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawRequest {
    /// The scheduled change's token exactly as received.
    pub token: String,
    /// Generated once per withdrawal; a retry sends the same key.
    pub idempotency_key: String,
}

/// What became of a withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawStatus {
    /// The scheduled change is undone: the subscription stays on its plan.
    Withdrawn,
    /// Not undone (`failure_code` says why); the change stays scheduled.
    Failed,
}

/// `POST /v1/plan-changes/withdraw` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawResult {
    pub status: WithdrawStatus,
    /// Why it failed, as a stable code the widget translates.
    pub failure_code: Option<String>,
}

/// A request whose only content is a token the proxy signed, sent back exactly as received.
/// One type for every such body, so the widget carries one encoder for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// The token exactly as received.
    pub token: String,
}

/// `POST /v1/plan-changes/preview` body: the change's token.
pub type PlanChangeRequest = TokenRequest;

/// What a plan change will cost, from Dodo's own preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChangePreview {
    /// Charged now to the subscription's card (0 for a downgrade or a scheduled change).
    pub amount_due_now: Money,
    /// Credit for the current plan (its unused time, or its price, as the proration mode
    /// says), taken off the amount due now.
    pub credit_used: Money,
    /// Credit added to the subscription (a downgrade), used on later renewals.
    pub credit_added: Money,
    /// Taxes included in the amount due now, when there are any.
    pub tax: Option<Money>,
    /// When the change takes effect (RFC 3339).
    pub effective_date: String,
    pub effective_at: EffectiveAt,
    /// The next renewal, and the plan price it bills (before any credit).
    pub next_billing_date: String,
    pub next_renewal_amount: Money,
}

/// `POST /v1/plan-changes/confirm` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmPlanChangeRequest {
    /// The change's token exactly as received.
    pub token: String,
    /// Generated once per confirm; a retry sends the same key.
    pub idempotency_key: String,
    /// The amount due now that the customer saw and confirmed, in minor units. When Dodo's
    /// preview now says otherwise, nothing changes and the proxy answers `preview_changed`.
    pub confirmed_amount: i64,
}

/// Where a plan change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanChangeStatus {
    /// Sent to Dodo; the outcome is not known yet.
    Processing,
    /// The new plan is active.
    Succeeded,
    /// The change will happen on the next billing date.
    Scheduled,
    /// Not made: its payment failed (and the rule keeps the plan), or Dodo refused it.
    Failed,
    /// The plan changed but its payment failed: the subscription is on hold until the payment
    /// method is updated (then the change `succeeded`).
    OnHold,
    /// The bank wants the customer to confirm the payment (3-D Secure).
    RequiresAction,
}

/// `POST /v1/plan-changes/confirm` and `GET /v1/plan-changes/{id}` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChangeResult {
    /// Identifies this change; poll `GET /v1/plan-changes/{change_ref}`.
    pub change_ref: String,
    pub status: PlanChangeStatus,
    /// What was (or is being) charged now.
    pub amount: Money,
    /// When the new plan takes (or took) effect (RFC 3339).
    pub effective_date: Option<String>,
    /// Why the payment failed, as a stable code the widget translates: one of Dodo's error
    /// codes in lower case, `not_charged`, `change_in_progress` (another payment of the
    /// subscription still waits for 3-D Secure), or `authentication_timed_out` (the customer
    /// never finished 3-D Secure within the proxy's bound; Dodo may still settle it late).
    pub failure_code: Option<String>,
    /// Dodo's page for the customer: while `requires_action`, where they confirm the payment
    /// (3-D Secure); once on hold, or failed because the card did not pay, where they give a
    /// new card (a subscription on hold pays what it owes with it, and the change then
    /// completes: `on_hold` becomes `succeeded`).
    pub action_url: Option<String>,
}

/// `POST /v1/offers/checkout` body: a standard Dodo checkout for an offered item, for when
/// one click cannot pay (no usable saved method, or a charge that failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// The item's offer token exactly as received.
    pub token: String,
    /// Units to buy; within the token's bounds.
    pub quantity: u32,
    /// Where Dodo sends the customer after paying: the thank-you page. Used only when its
    /// origin is one of the proxy's allowed origins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

/// `POST /v1/offers/checkout` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutResponse {
    /// Dodo's hosted checkout page for this item.
    pub checkout_url: String,
}

/// `POST /v1/offers/accept` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptRequest {
    /// The offer token exactly as received.
    pub token: String,
    /// A key the widget generates once per click; a retried request sends the same key and
    /// gets the first request's result instead of a second charge.
    pub idempotency_key: String,
    /// Units to add; must lie within the bounds sealed in the token.
    pub quantity: u32,
    /// Another of the customer's saved payment methods to charge instead of the offered one;
    /// the proxy checks that it belongs to the token's customer and can pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<String>,
}

/// Where an accepted offer's charge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptStatus {
    /// Recorded and sent to Dodo; the final state is not known yet.
    Processing,
    /// Dodo confirmed the charge.
    Succeeded,
    /// Dodo declined the charge. Nothing was charged, and it is not retried automatically.
    Failed,
    /// The bank wants the customer to confirm (3-D Secure).
    RequiresAction,
}

impl AcceptStatus {
    /// True once the status can no longer change.
    pub fn is_final(self) -> bool {
        matches!(self, AcceptStatus::Succeeded | AcceptStatus::Failed)
    }
}

/// `POST /v1/offers/accept` and `GET /v1/accepts/{id}` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptResponse {
    /// Identifies this accept; poll `GET /v1/accepts/{accept_id}` for its final status.
    pub accept_id: String,
    /// The offer that was accepted.
    pub offer_id: String,
    /// Where the charge stands.
    pub status: AcceptStatus,
    /// What is (or will be) charged in total.
    pub amount: Money,
    /// Why the charge failed, in words (English, for logs and support), when it failed.
    pub failure_reason: Option<String>,
    /// Why the charge failed, as a stable code the widget translates: `insufficient_funds`,
    /// `card_declined`, `authentication_failed`, `provider_unreachable`, `not_charged`, or
    /// another of Dodo's error codes in lower case.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Where the customer confirms the payment with their bank, while it requires action.
    #[serde(default)]
    pub action_url: Option<String>,
}

/// `POST /v1/offers/decline` body: the token of any item of the offer.
pub type DeclineRequest = TokenRequest;

/// `POST /v1/offers/decline` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclineResponse {
    /// The offer that was declined; it will not be offered again for this purchase.
    pub offer_id: String,
    /// The next offer in the chain (a downsell), when the merchant configured one.
    pub next: Option<Offer>,
}

/// `POST /v1/offers/impression` body: the token of any item of an offer the customer has
/// actually seen (on screen, styled); the widget sends it once per offer it shows. Counted once
/// per purchase and offer, however often it is reported.
pub type ImpressionRequest = TokenRequest;

/// `POST /v1/widget/errors` request: what went wrong in the widget, as a beacon (JSON sent as
/// `text/plain`). It carries nothing about the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetErrorReport {
    /// One of [`WIDGET_ERROR_KINDS`].
    pub kind: String,
    /// Which part of the widget: one of [`WIDGET_PARTS`].
    pub part: String,
}

/// A part of the widget fetched on demand could not be fetched.
pub const WIDGET_ERROR_PART_UNAVAILABLE: &str = "part_unavailable";
/// The kinds of error a widget reports.
pub const WIDGET_ERROR_KINDS: [&str; 1] = [WIDGET_ERROR_PART_UNAVAILABLE];
/// The parts of the widget fetched on demand.
pub const WIDGET_PARTS: [&str; 2] = ["plan_change", "language"];

/// `POST /v1/widget/errors` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetErrorCounted {
    pub kind: String,
    pub part: String,
}

/// `POST /v1/offers/impression` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpressionResponse {
    /// The offer whose impression was recorded.
    pub offer_id: String,
}

/// Every error the proxy returns, with a 4xx or 5xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable, machine-readable code, e.g. `offer_expired`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_status_uses_snake_case_on_the_wire() {
        let json = serde_json::to_string(&AcceptStatus::RequiresAction).unwrap();
        assert_eq!(json, "\"requires_action\"");
        let back: AcceptStatus = serde_json::from_str("\"succeeded\"").unwrap();
        assert_eq!(back, AcceptStatus::Succeeded);
        assert!(back.is_final());
        assert!(!AcceptStatus::Processing.is_final());
    }

    #[test]
    fn money_is_integer_minor_units() {
        let money: Money = serde_json::from_str(r#"{"amount":2500,"currency":"USD"}"#).unwrap();
        assert_eq!(money.amount, 2500);
        assert!(serde_json::from_str::<Money>(r#"{"amount":25.5,"currency":"USD"}"#).is_err());
    }
}
