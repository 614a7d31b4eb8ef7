//! Which offers convert, and whether a change helped: what happened to each offer and variant
//! (`event_store`), who sees which variant (`experiment`), the arithmetic of conversion rates
//! and their comparison (`stats`), and the report built from them (`report`), read as JSON,
//! as a table (`report_table`) or as a page with charts (`report_page`).

pub mod event_store;
pub mod experiment;
pub mod report;
pub mod report_page;
pub mod report_table;
pub mod stats;
