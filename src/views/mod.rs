//! The widget's views, one file per view.

pub mod countdown;
pub mod item_flow;
pub mod offer_flow;
pub mod part_unavailable;
pub mod payment_picker;
pub mod plan_flow;
pub mod skeleton;
pub mod upsell_widget;
