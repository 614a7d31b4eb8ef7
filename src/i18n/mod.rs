//! Every string the customer reads, in English, Brazilian Portuguese, Spanish, French and German.
//!
//! Each language is one [`Texts`] value, so a string missing from a language is a compile
//! error rather than an English word in a German page. `{name}` marks a value filled in at run
//! time. Numbers, prices and times are never written here: the browser's `Intl` formats them
//! for the customer's full locale (see `crate::money` and `crate::time_left`).

mod de;
mod en;
mod es;
mod fr;
mod pt_br;

/// The widget's strings in one language.
#[derive(Debug)]
pub struct Texts {
    /// BCP 47 tag of this language.
    pub lang: &'static str,
    /// Read by screen readers while the offer loads.
    pub loading: &'static str,
    /// Names the widget's region for assistive technology.
    pub region_label: &'static str,
    /// The one-click button of an upsell or downsell.
    pub add_to_order: &'static str,
    /// The one-click button of one cross-sell item.
    pub add_item: &'static str,
    /// Declines the whole offer.
    pub no_thanks: &'static str,
    /// Label of a quantity selector.
    pub quantity: &'static str,
    /// Label of the choice of saved card.
    pub pay_with: &'static str,
    /// A saved card: `{network}`, `{last4}`.
    pub card: &'static str,
    /// Under a one-click offer when there is only one card: `{card}`.
    pub charged_to: &'static str,
    /// Before a struck-through price, for screen readers: `{price}`.
    pub was_price: &'static str,
    /// Before the discounted price, for screen readers: `{price}`.
    pub now_price: &'static str,
    /// Discount badge: `{percent}`.
    pub percent_off: &'static str,
    /// Badge `most_popular`.
    pub badge_most_popular: &'static str,
    /// Badge `best_value`.
    pub badge_best_value: &'static str,
    /// Badge `limited_offer`.
    pub badge_limited_offer: &'static str,
    /// Countdown: `{time}` is minutes and seconds left, e.g. `9:58`.
    pub ends_in: &'static str,
    /// For screen readers, beside the countdown: `{time}` is a clock time from `Intl`.
    pub ends_at: &'static str,
    /// After accepting, while the charge is under way.
    pub processing: &'static str,
    /// The charge succeeded: `{item}`, `{amount}`.
    pub succeeded: &'static str,
    /// The charge failed: `{reason}`.
    pub failed: &'static str,
    /// The bank wants the customer to confirm (3-D Secure).
    pub requires_action: &'static str,
    /// Link to the bank's confirmation page.
    pub confirm_payment: &'static str,
    /// Still not final after the widget stopped waiting.
    pub still_processing: &'static str,
    /// After "No thanks", before the widget closes.
    pub declined: &'static str,
    /// Shown instead of one click when no saved card can pay.
    pub no_one_click: &'static str,
    /// The standard checkout link when no saved card can pay.
    pub continue_to_checkout: &'static str,
    /// The standard checkout link after a failed charge.
    pub pay_another_way: &'static str,
    /// Failure: the card has insufficient funds.
    pub reason_insufficient_funds: &'static str,
    /// Failure: the card was declined.
    pub reason_card_declined: &'static str,
    /// Failure: the bank could not confirm the payment (3-D Secure failed).
    pub reason_authentication_failed: &'static str,
    /// Failure: the payment provider could not be reached.
    pub reason_provider_unreachable: &'static str,
    /// Failure: the order could not be completed, nothing charged.
    pub reason_not_charged: &'static str,
    /// Failure: the offer expired before it was accepted.
    pub reason_offer_expired: &'static str,
    /// Failure: the purchase already accepted as many offers as it may.
    pub reason_offer_limit: &'static str,
    /// Failure: too many attempts in a short time.
    pub reason_rate_limited: &'static str,
    /// Failure: the connection to the shop was lost mid-way.
    pub reason_connection_lost: &'static str,
    /// Failure: any other reason.
    pub reason_generic: &'static str,
}

impl Texts {
    /// The strings for a BCP 47 locale: its language (Portuguese is Brazilian), else English.
    pub fn for_locale(locale: &str) -> &'static Texts {
        let language = locale
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match language.as_str() {
            "pt" => &pt_br::TEXTS,
            "es" => &es::TEXTS,
            "fr" => &fr::TEXTS,
            "de" => &de::TEXTS,
            _ => &en::TEXTS,
        }
    }

    /// Words for a charge's failure code (from the proxy) or an API error code.
    pub fn reason(&self, code: &str) -> &'static str {
        match code {
            "insufficient_funds" => self.reason_insufficient_funds,
            "card_declined" | "do_not_honor" | "card_expired" | "expired_card" => {
                self.reason_card_declined
            }
            "authentication_failed" => self.reason_authentication_failed,
            "provider_unreachable" | "upstream_unavailable" | "upstream_timeout" => {
                self.reason_provider_unreachable
            }
            "not_charged" => self.reason_not_charged,
            "offer_expired" | "offer_window_closed" => self.reason_offer_expired,
            "offer_limit_reached" => self.reason_offer_limit,
            "rate_limited" => self.reason_rate_limited,
            "connection_lost" => self.reason_connection_lost,
            _ => self.reason_generic,
        }
    }

    /// A badge's words: the known ones translated, the merchant's own shown as written.
    pub fn badge(&self, badge: &str) -> String {
        match badge {
            "most_popular" => self.badge_most_popular.into(),
            "best_value" => self.badge_best_value.into(),
            "limited_offer" => self.badge_limited_offer.into(),
            own => own.into(),
        }
    }
}

/// Fills `{name}` placeholders.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test as test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[test]
    fn locales_choose_their_language_and_anything_else_gets_english() {
        assert_eq!(Texts::for_locale("pt-BR").lang, "pt-BR");
        assert_eq!(Texts::for_locale("pt").lang, "pt-BR");
        assert_eq!(Texts::for_locale("es-MX").lang, "es");
        assert_eq!(Texts::for_locale("fr-CA").lang, "fr");
        assert_eq!(Texts::for_locale("de_CH").lang, "de");
        assert_eq!(Texts::for_locale("ja-JP").lang, "en");
        assert_eq!(Texts::for_locale("").lang, "en");
    }

    #[test]
    fn every_language_keeps_every_placeholder() {
        let all = [
            &en::TEXTS,
            &pt_br::TEXTS,
            &es::TEXTS,
            &fr::TEXTS,
            &de::TEXTS,
        ];
        for texts in all {
            let pairs = [
                (texts.card, &["{network}", "{last4}"][..]),
                (texts.charged_to, &["{card}"]),
                (texts.was_price, &["{price}"]),
                (texts.now_price, &["{price}"]),
                (texts.percent_off, &["{percent}"]),
                (texts.ends_in, &["{time}"]),
                (texts.ends_at, &["{time}"]),
                (texts.succeeded, &["{item}", "{amount}"]),
                (texts.failed, &["{reason}"]),
            ];
            for (text, placeholders) in pairs {
                for placeholder in placeholders {
                    assert!(text.contains(placeholder), "{}: {text:?}", texts.lang);
                }
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                "{network} ending in {last4}",
                &[("network", "Visa"), ("last4", "4242")]
            ),
            "Visa ending in 4242"
        );
    }
}
