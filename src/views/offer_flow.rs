//! What happens when the customer answers an offer: the accept (recorded once, however many
//! clicks), following the charge to its final state, or the decline.

use crate::api::{self, ApiFailure};
use crate::text;
use crate::views::offer_card::{OfferCard, Phase};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use upsell_wire::{AcceptRequest, AcceptResponse, AcceptStatus, DeclineRequest, Offer};

/// How long the thanks stays on screen after "No thanks" before the widget closes.
const CLOSE_AFTER_DECLINE: Duration = Duration::from_secs(3);

/// How often, and how many times, the widget asks for the final state of a charge.
const POLL_EVERY: Duration = Duration::from_secs(1);
const POLL_LIMIT: u32 = 60;

#[component]
pub fn OfferFlow(
    /// The offer to show.
    offer: Offer,
    /// The proxy's base URL.
    #[prop(into)]
    endpoint: String,
    /// Locale for prices.
    #[prop(into)]
    locale: String,
) -> impl IntoView {
    let phase = RwSignal::new(Phase::Offered);
    let closed = RwSignal::new(false);
    let token = offer.token.clone();
    // One key per offer shown: a repeated click or a retried request is the same accept.
    let idempotency_key = new_idempotency_key(&token);

    let accept_endpoint = endpoint.clone();
    let accept_token = token.clone();
    let on_accept = Callback::new(move |()| {
        if phase.get_untracked() != Phase::Offered {
            return;
        }
        phase.set(Phase::Processing);
        let request = AcceptRequest {
            token: accept_token.clone(),
            idempotency_key: idempotency_key.clone(),
            quantity: offer.quantity,
            payment_method_id: None,
        };
        let endpoint = accept_endpoint.clone();
        spawn_local(async move {
            match api::accept(&endpoint, &request).await {
                Ok(response) => follow(endpoint, response, phase, 0),
                Err(failure) => phase.set(Phase::Failed(failure_text(&failure))),
            }
        });
    });

    let on_decline = Callback::new(move |()| {
        if phase.get_untracked() != Phase::Offered {
            return;
        }
        phase.set(Phase::Declined);
        set_timeout(move || closed.set(true), CLOSE_AFTER_DECLINE);
        let request = DeclineRequest {
            token: token.clone(),
        };
        let endpoint = endpoint.clone();
        // The customer has moved on; a decline that does not reach the proxy only means the
        // offer may be shown again on a reload.
        spawn_local(async move {
            let _ = api::decline(&endpoint, &request).await;
        });
    });

    view! {
        <Show when=move || !closed.get()>
            <OfferCard
                offer=offer.clone()
                locale=locale.clone()
                phase=phase
                on_accept=on_accept
                on_decline=on_decline
            />
        </Show>
    }
}

/// Shows a charge's status, and keeps asking the proxy until it is final.
fn follow(endpoint: String, response: AcceptResponse, phase: RwSignal<Phase>, polls: u32) {
    match response.status {
        AcceptStatus::Succeeded => phase.set(Phase::Succeeded(response.amount)),
        AcceptStatus::Failed => phase.set(Phase::Failed(
            response
                .failure_reason
                .unwrap_or_else(|| text::FAILED.to_string()),
        )),
        AcceptStatus::RequiresAction => phase.set(Phase::RequiresAction),
        AcceptStatus::Processing if polls >= POLL_LIMIT => phase.set(Phase::StillProcessing),
        AcceptStatus::Processing => {
            set_timeout(
                move || {
                    spawn_local(async move {
                        match api::accept_status(&endpoint, &response.accept_id).await {
                            Ok(next) => follow(endpoint, next, phase, polls + 1),
                            // A failed poll is not a failed charge: ask again.
                            Err(_) => follow(endpoint, response, phase, polls + 1),
                        }
                    })
                },
                POLL_EVERY,
            );
        }
    }
}

fn failure_text(failure: &ApiFailure) -> String {
    match failure {
        ApiFailure::Refused(error) => error.message.clone(),
        ApiFailure::Unreachable(_) => {
            "The connection was lost. Please check your email for a receipt before trying again."
                .into()
        }
    }
}

/// 128 random bits from the browser's CSPRNG, as hex. `crypto.getRandomValues` exists in every
/// browser that runs WebAssembly; should it fail, the token's signature (unique per offer shown)
/// serves, which keeps the one property that matters: one key per offer shown.
fn new_idempotency_key(token: &str) -> String {
    let mut bytes = [0u8; 16];
    let random = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if random {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        let signature = token.rsplit('.').next().unwrap_or(token);
        signature
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(64)
            .collect()
    }
}
