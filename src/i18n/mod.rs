//! Every string the customer reads, in English, Brazilian Portuguese, Spanish, French and German.
//!
//! Each language is one [`Texts`] value, so a string missing from a language is a compile
//! error rather than an English word in a German page. `{name}` marks a value filled in at run
//! time. Numbers, prices and times are never written here: the browser's `Intl` formats them
//! for the customer's full locale (see `crate::money` and `crate::time_left`).

use crate::on_demand::{on_demand, PartUnavailable};

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
    /// Failure: the merchant changed the price after the offer was shown.
    pub reason_price_changed: &'static str,
    /// Failure: any other reason.
    pub reason_generic: &'static str,
    /// A part of the widget could not be fetched (the network failed): nothing was charged.
    pub part_unavailable: &'static str,
    /// Plan changes: heading of an upgrade offer: `{plan}`.
    pub plan_upgrade_title: &'static str,
    /// Plan changes: heading of a downgrade offer: `{plan}`.
    pub plan_downgrade_title: &'static str,
    /// Column heading of the plan the subscriber is on.
    pub plan_current: &'static str,
    /// Column heading of the plan they would move to.
    pub plan_new: &'static str,
    /// A price per one period: `{price}`, `{unit}` (one of the `unit_*` words).
    pub price_per_unit: &'static str,
    /// A price per several periods: `{price}`, `{period}` (e.g. "30 days", from `Intl`).
    pub price_every_period: &'static str,
    pub unit_day: &'static str,
    pub unit_week: &'static str,
    pub unit_month: &'static str,
    pub unit_year: &'static str,
    /// Screen-reader words for a feature row the new plan adds.
    pub feature_gained: &'static str,
    /// Screen-reader words for a feature row the new plan drops.
    pub feature_lost: &'static str,
    /// Button: ask Dodo what the change will cost.
    pub review_change: &'static str,
    /// Shown while the preview loads.
    pub loading_preview: &'static str,
    /// Preview row: the amount due now.
    pub due_now: &'static str,
    /// Preview row: credit for the current plan (its unused time, or its price).
    pub credit_unused: &'static str,
    /// Preview row: credit added to the subscription (a downgrade).
    pub credit_added: &'static str,
    /// Under the credit added: how it is used.
    pub credit_added_note: &'static str,
    /// Preview row: the taxes in the amount due now.
    pub tax: &'static str,
    /// Preview row: when the change takes effect: `{date}`.
    pub takes_effect: &'static str,
    /// Preview row: the change takes effect now.
    pub takes_effect_now: &'static str,
    /// Preview row: the next renewal: `{date}`, `{amount}`.
    pub next_renewal: &'static str,
    /// Confirm button when something is charged now: `{amount}`.
    pub confirm_charge: &'static str,
    /// Confirm button when nothing is charged now.
    pub confirm_change: &'static str,
    /// Confirm button of a change on the next billing date.
    pub schedule_change: &'static str,
    /// Back from the preview to the comparison.
    pub back: &'static str,
    /// While the change is made.
    pub changing_plan: &'static str,
    /// The change is done: `{plan}`, `{amount}` charged.
    pub plan_changed_charged: &'static str,
    /// The change is done, nothing charged: `{plan}`.
    pub plan_changed: &'static str,
    /// The change is scheduled: `{plan}`, `{date}`.
    pub plan_scheduled: &'static str,
    /// The payment failed and the plan stays: `{reason}`.
    pub plan_change_failed: &'static str,
    /// Link to Dodo's page for a new card, after a card did not pay.
    pub update_payment_method: &'static str,
    /// The plan changed but its payment of `{amount}` failed: the subscription is on hold.
    pub plan_on_hold: &'static str,
    /// Button that undoes a scheduled change and keeps the current plan: `{plan}`.
    pub keep_plan: &'static str,
    /// The scheduled change is undone: `{plan}` is the plan kept.
    pub plan_kept: &'static str,
    /// The amount changed between the preview and the confirm.
    pub preview_changed: &'static str,
    /// Failure: the subscription changed since the plan change was shown.
    pub reason_plan_already_changed: &'static str,
    /// Failure: another change of the subscription is under way.
    pub reason_change_in_progress: &'static str,
}

/// The languages the widget speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    BrazilianPortuguese,
    Spanish,
    French,
    German,
}

impl Language {
    /// The language of a BCP 47 locale (Portuguese is Brazilian); English for any other.
    pub fn of_locale(locale: &str) -> Language {
        let language = locale
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match language.as_str() {
            "pt" => Language::BrazilianPortuguese,
            "es" => Language::Spanish,
            "fr" => Language::French,
            "de" => Language::German,
            _ => Language::English,
        }
    }

    /// English, which the main module carries: what every other language falls back to.
    pub fn english() -> &'static Texts {
        &en::TEXTS
    }

    /// This language's strings. Every language but English is a part fetched on demand
    /// (`crate::on_demand`): a page downloads only its own.
    pub async fn texts(self) -> Result<&'static Texts, PartUnavailable> {
        match self {
            Language::English => Ok(Language::english()),
            Language::BrazilianPortuguese => brazilian_portuguese().await,
            Language::Spanish => spanish().await,
            Language::French => french().await,
            Language::German => german().await,
        }
    }
}

on_demand! {
    fn brazilian_portuguese() -> &'static Texts { &pt_br::TEXTS }
    part language_pt_br, preload preload_language_pt_br;
}

on_demand! {
    fn spanish() -> &'static Texts { &es::TEXTS }
    part language_es, preload preload_language_es;
}

on_demand! {
    fn french() -> &'static Texts { &fr::TEXTS }
    part language_fr, preload preload_language_fr;
}

on_demand! {
    fn german() -> &'static Texts { &de::TEXTS }
    part language_de, preload preload_language_de;
}

impl Texts {
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
            "plan_already_changed" | "plan_change_withdrawn" | "plan_change_refused" => {
                self.reason_plan_already_changed
            }
            "change_in_progress" => self.reason_change_in_progress,
            "price_changed" => self.reason_price_changed,
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
    async fn locales_choose_their_language_and_anything_else_gets_english() {
        for (locale, lang) in [
            ("pt-BR", "pt-BR"),
            ("pt", "pt-BR"),
            ("es-MX", "es"),
            ("fr-CA", "fr"),
            ("de_CH", "de"),
            ("ja-JP", "en"),
            ("", "en"),
        ] {
            let texts = Language::of_locale(locale).texts().await.unwrap();
            assert_eq!(texts.lang, lang, "{locale}");
        }
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
                (texts.plan_upgrade_title, &["{plan}"]),
                (texts.plan_downgrade_title, &["{plan}"]),
                (texts.price_per_unit, &["{price}", "{unit}"]),
                (texts.price_every_period, &["{price}", "{period}"]),
                (texts.takes_effect, &["{date}"]),
                (texts.next_renewal, &["{date}", "{amount}"]),
                (texts.confirm_charge, &["{amount}"]),
                (texts.plan_changed_charged, &["{plan}", "{amount}"]),
                (texts.plan_changed, &["{plan}"]),
                (texts.plan_scheduled, &["{plan}", "{date}"]),
                (texts.plan_change_failed, &["{reason}"]),
                (texts.plan_on_hold, &["{amount}"]),
                (texts.keep_plan, &["{plan}"]),
                (texts.plan_kept, &["{plan}"]),
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
