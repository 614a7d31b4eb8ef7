//! The keys the proxy puts in the metadata of what it creates at Dodo, so that Dodo's answers,
//! its webhooks and a later search find what each payment is: an upsell charge's accept and
//! offer, the purchase it followed, or a plan change.

/// The accept an upsell charge pays.
pub const ACCEPT_ID: &str = "upsell_accept_id";
/// The offer item a charge or a standard checkout is for.
pub const OFFER_ID: &str = "upsell_offer_id";
/// The purchase the offer followed.
pub const ORIGINAL_PAYMENT_ID: &str = "upsell_original_payment_id";
/// The plan change a payment belongs to.
pub const PLAN_CHANGE_REF: &str = "upsell_plan_change_ref";
