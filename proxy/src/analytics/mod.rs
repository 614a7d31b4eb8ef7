//! Which offers convert, and whether a change helped: the facts counted as they happen (an
//! offer seen: `impressions`; revenue confirmed and refunded: `revenue`, with `sweep` for what webhooks missed; the rest is recorded by
//! the concerns they happen in, in `storage::offer_events`), the arithmetic of conversion rates
//! and their comparison (`stats`, read once at a fixed horizon; `sequential`, always valid
//! however often it is read), of the value per purchase against a holdout (`incremental`), and
//! of traffic shares that follow revenue per impression (`bandit`, Thompson sampling), and the
//! report built from them (`report`), read as JSON, as a table (`report_table`) or as a page
//! with charts (`report_page`). Who sees which variant of an experiment is decided where offers
//! are made (`offers::experiment`).

pub mod bandit;
pub mod holdout;
pub mod impressions;
pub mod incremental;
pub mod report;
pub mod report_page;
pub mod report_table;
pub mod revenue;
pub mod sequential;
pub mod stats;
pub mod sweep;
