//! Which offers convert, and whether a change helped: the facts counted as they happen (an
//! offer seen: `impressions`; revenue confirmed and refunded: `revenue`, with `sweep` for what webhooks missed; the rest is recorded by
//! the concerns they happen in, in `storage::offer_events`), the arithmetic of conversion rates
//! and their comparison (`stats`, read once at a fixed horizon; `sequential`, always valid
//! however often it is read), of the value per purchase against a holdout (`incremental`,
//! `holdout`), plan changes counted like offers (`plan_change_report`), and the report built from
//! them (`report`, its amounts written by `amounts`), read as JSON, as a table (`report_table`)
//! or as a page with charts (`report_page`). Who sees which variant of an experiment is decided
//! where offers are made (`offers::experiment`, `offers::allocation` with its Thompson sampling
//! in `offers::thompson`), as is who is held out (`offers::holdout`).

pub mod amounts;
pub mod holdout;
pub mod impressions;
pub mod incremental;
pub mod plan_change_report;
pub mod report;
pub mod report_page;
pub mod report_table;
pub mod revenue;
pub mod sequential;
pub mod stats;
pub mod sweep;
