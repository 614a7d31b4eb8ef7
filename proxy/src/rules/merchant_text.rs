//! The merchant's words in the customer's language: an offer's (or a variant's) title,
//! description and badge, and a plan's feature rows, given per locale in the offers file
//! (`[offers.locales.pt-BR]`, `[plans.locales.pt-BR]`). The widget translates its own words;
//! these are the merchant's, so that a Brazilian customer does not read a Portuguese widget
//! around an English offer. What a locale leaves out falls back to the default.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Merchant text by locale tag (BCP 47, e.g. `pt-BR`, `de`).
pub type Locales<T> = BTreeMap<String, T>;

/// An offer's or a variant's words in one locale.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferText {
    pub title: Option<String>,
    pub description: Option<String>,
    pub badge: Option<String>,
}

/// A plan's feature rows in one locale: all of them, in the order of the default rows (the
/// comparison says what is gained or lost by matching rows across plans).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanText {
    pub features: Vec<String>,
}

/// The entry of `locales` for a customer's `locale`: the same tag, else the language alone
/// (`pt` for `pt-BR`), else another tag of the same language (`pt-BR` for `pt-PT`). Tags are
/// compared without regard to case, `_` read as `-`.
pub fn pick<'a, T>(locales: &'a Locales<T>, locale: Option<&str>) -> Option<&'a T> {
    let wanted = normalize(locale?);
    let language = language_of(&wanted);
    let mut same_language = None;
    let mut language_alone = None;
    for (tag, text) in locales {
        let tag = normalize(tag);
        if tag == wanted {
            return Some(text);
        }
        if tag == language {
            language_alone = Some(text);
        } else if language_of(&tag) == language {
            same_language = same_language.or(Some(text));
        }
    }
    language_alone.or(same_language)
}

/// Checks a locale tag of the offers file: a language of 2 or 3 letters, then subtags of 1 to
/// 8 letters or digits (`pt-BR`, `zh-Hant-TW`, `es-419`).
pub fn check_tag(tag: &str) -> anyhow::Result<()> {
    let mut parts = tag.split(['-', '_']);
    let language = parts.next().unwrap_or_default();
    let well_formed = (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    anyhow::ensure!(
        well_formed,
        "locale {tag:?} is not a language tag like \"pt-BR\" or \"de\""
    );
    Ok(())
}

/// Checks a file's locales: tags well formed, and none given twice (`pt-BR` and `pt_br`).
pub fn check_tags<T>(locales: &Locales<T>) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for tag in locales.keys() {
        check_tag(tag)?;
        anyhow::ensure!(seen.insert(normalize(tag)), "locale {tag:?} is given twice");
    }
    Ok(())
}

/// The same locale written one way: lower case, `-` between subtags.
pub fn normalize(tag: &str) -> String {
    tag.trim().replace('_', "-").to_ascii_lowercase()
}

fn language_of(tag: &str) -> &str {
    tag.split('-').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locales(tags: &[&str]) -> Locales<String> {
        tags.iter()
            .map(|t| (t.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn the_closest_locale_is_chosen() {
        let given = locales(&["pt-BR", "pt", "de-AT", "es-419"]);
        assert_eq!(
            pick(&given, Some("pt-BR")).map(String::as_str),
            Some("pt-BR")
        );
        assert_eq!(
            pick(&given, Some("pt_br")).map(String::as_str),
            Some("pt-BR")
        );
        assert_eq!(pick(&given, Some("pt-PT")).map(String::as_str), Some("pt"));
        assert_eq!(
            pick(&given, Some("de-DE")).map(String::as_str),
            Some("de-AT")
        );
        assert_eq!(pick(&given, Some("es")).map(String::as_str), Some("es-419"));
        assert_eq!(pick(&given, Some("fr-FR")), None);
        assert_eq!(pick(&given, None), None);
    }

    #[test]
    fn tags_must_be_language_tags_given_once() {
        for good in ["pt-BR", "de", "zh-Hant-TW", "es-419", "pt_BR"] {
            assert!(check_tag(good).is_ok(), "{good}");
        }
        for bad in ["", "p", "portuguese", "pt-", "pt BR", "12", "pt-BRAZILIANS"] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
        assert!(check_tags(&locales(&["pt-BR", "pt_br"])).is_err());
    }
}
