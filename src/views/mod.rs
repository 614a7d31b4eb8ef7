//! The widget's views, one file per view.

pub mod offer_card;
pub mod offer_flow;
pub mod skeleton;
pub mod upsell_widget;
