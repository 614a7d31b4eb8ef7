//! Timestamps as Dodo writes them (RFC 3339), and the two questions asked of what was sent to
//! Dodo and not heard back (a charge, a plan change): has it been silent long enough that
//! nothing is still on its way, and from when to look for it.

use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// True once nothing can still be on its way: something sent to Dodo (an accept, a plan
/// change) has not moved since `updated_at` for `grace`, longer than any call to Dodo can take.
pub fn silent_for(updated_at: &str, grace: Duration) -> bool {
    parse_rfc3339(updated_at).is_some_and(|updated| OffsetDateTime::now_utc() - updated >= grace)
}

/// Where to start looking for what was sent to Dodo at `created_at`: Dodo's clock and ours may
/// differ a little, so a few minutes further back.
pub fn look_up_since(created_at: &str) -> String {
    parse_rfc3339(created_at)
        .map(|t| rfc3339(t - time::Duration::minutes(5)))
        .unwrap_or_default()
}
