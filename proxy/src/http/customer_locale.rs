//! The customer's language as the widget names it (`?locale=pt-BR`: the element's `locale`,
//! else the page's `lang`, else the browser's): it picks the merchant's words in the offers
//! file. Checked here, at the edge. A malformed one is a preference that cannot be read, not a
//! request to refuse: a merchant's page with `lang="english"` must still show its offers, so
//! it is logged and the default words are used.

use crate::rules::merchant_text;

/// The tag the widget named, when it is a language tag; `None` otherwise (the default words).
pub fn checked(locale: Option<&str>) -> Option<&str> {
    let locale = locale.map(str::trim).filter(|l| !l.is_empty())?;
    if locale.len() > 35 || merchant_text::check_tag(locale).is_err() {
        tracing::info!(locale = %locale.chars().take(40).collect::<String>(), "not a language tag; default merchant text");
        return None;
    }
    Some(locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_is_a_language_tag_or_nothing() {
        assert_eq!(checked(None), None);
        assert_eq!(checked(Some(" ")), None);
        assert_eq!(checked(Some("pt-BR")), Some("pt-BR"));
        assert_eq!(checked(Some("english")), None);
        assert_eq!(checked(Some("pt-BR<script>")), None);
        assert_eq!(checked(Some(&"a-".repeat(30))), None);
    }
}
