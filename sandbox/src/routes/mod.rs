//! Dodo's API paths, one file per resource.

pub mod checkouts;
pub mod customers;
pub mod payments;
pub mod products;
