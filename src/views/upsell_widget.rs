//! The whole widget for one purchase: loads its offers, then shows the first one.

use crate::api;
use crate::views::offer_flow::OfferFlow;
use crate::views::skeleton::Skeleton;
use leptos::prelude::*;

#[component]
pub fn UpsellWidget(
    /// The proxy's base URL; empty for the page's own origin.
    #[prop(into)]
    endpoint: String,
    /// The Dodo payment id of the purchase just made.
    #[prop(into)]
    payment_id: String,
    /// Locale for prices, e.g. `en-US`.
    #[prop(into)]
    locale: String,
) -> impl IntoView {
    let offers = LocalResource::new({
        let endpoint = endpoint.clone();
        move || {
            let endpoint = endpoint.clone();
            let payment_id = payment_id.clone();
            async move { api::fetch_offers(&endpoint, &payment_id).await }
        }
    });
    view! {
        <Suspense fallback=|| view! { <Skeleton /> }>
            {move || {
                let endpoint = endpoint.clone();
                let locale = locale.clone();
                Suspend::new(async move {
                    match offers.await {
                        Ok(response) => response
                            .offers
                            .into_iter()
                            .next()
                            .map(|offer| view! { <OfferFlow offer endpoint locale /> }),
                        // An optional offer must never put an error on a thank-you page:
                        // when there is nothing to offer, or the service is down, show nothing.
                        Err(_) => None,
                    }
                })
            }}
        </Suspense>
    }
}
