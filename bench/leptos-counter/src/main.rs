//! A counter and one fetched offer: Leptos' own share of any widget's size.

use leptos::prelude::*;

#[derive(serde::Deserialize, Clone)]
struct Offer {
    title: String,
    price: i64,
}

async fn fetch_offer() -> Option<Offer> {
    let response = gloo_net::http::Request::get("/v1/offers")
        .send()
        .await
        .ok()?;
    let text = response.text().await.ok()?;
    let value = js_sys::JSON::parse(&text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

fn main() {
    mount_to_body(|| {
        let (count, set_count) = signal(0);
        let offer = LocalResource::new(fetch_offer);
        view! {
            <button on:click=move |_| set_count.update(|c| *c += 1)>"Count: " {count}</button>
            <Suspense fallback=|| "…">
                {move || offer.get().flatten().map(|o| view! { <p>{o.title} " " {o.price}</p> })}
            </Suspense>
        }
    })
}
