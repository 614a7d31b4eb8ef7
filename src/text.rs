//! Every string the customer reads, in one place.

pub const LOADING: &str = "Loading your offer…";
pub const ADD_TO_ORDER: &str = "Add to my order";
pub const NO_THANKS: &str = "No thanks";
pub const CHARGED_TO: &str = "Charged to your";
pub const ENDING_IN: &str = "ending in";
pub const PROCESSING: &str = "Adding it to your order…";
pub const SUCCEEDED: &str = "Added to your order. Charged";
pub const FAILED: &str = "We couldn't add this to your order.";
pub const REQUIRES_ACTION: &str = "Your bank needs you to confirm this payment.";
pub const DECLINED: &str = "No problem — thanks for your order!";
pub const STILL_PROCESSING: &str =
    "Your payment is still processing. You'll get an email when it completes.";
