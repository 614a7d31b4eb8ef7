//! Timestamps as Dodo writes them (RFC 3339).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}
