//! Simulated customers. Each buys, loads its offers from one of the proxy instances, and then
//! does what customers do, drawn from the soak's seed: accepts (one click; a double click with
//! one key; a retry with the same key after a lost answer; a second tab with another key; both
//! instances at once), declines down the chain, picks a cross-sell quantity and a card, falls
//! back to the standard checkout, completes or abandons 3-D Secure, previews and confirms plan
//! changes (sometimes twice at once); and a refunder gives money back through Dodo's API.

use crate::client::Answer;
use crate::journal::{AcceptSeen, ChangeSeen, CheckoutSeen};
use crate::world::Customer;
use crate::Soak;
use fastrand::Rng;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use upsell_proxy::offers::token::OfferClaims;
use upsell_proxy::plan_changes::token::{AccountClaims, PlanChangeClaims, ACCOUNT};
use upsell_wire::{
    AcceptResponse, AcceptStatus, Offer, OfferItem, OffersResponse, PaymentMethod,
    PlanChangePreview, PlanChangeResult, PlanChangeStatus, PlanChangesResponse,
};

/// One customer after another until the soak stops; `customers` and their subscriptions are
/// this task's alone, so a subscription is changed at most once.
pub async fn shop(soak: Arc<Soak>, mut rng: Rng, customers: Vec<Customer>) {
    let mut subscriptions: Vec<(String, String)> = customers
        .iter()
        .flat_map(|c| {
            c.subscriptions
                .iter()
                .map(|s| (c.customer_id.clone(), s.clone()))
        })
        .collect();
    while !soak.stopped() {
        if rng.u8(..100) < 15 && !subscriptions.is_empty() {
            let (customer, subscription) =
                subscriptions.swap_remove(rng.usize(..subscriptions.len()));
            change_plan(&soak, &mut rng, &customer, &subscription).await;
        } else {
            let customer = &customers[rng.usize(..customers.len())];
            buy_and_answer_offers(&soak, &mut rng, &customer.customer_id).await;
        }
    }
}

fn idempotency_key(rng: &mut Rng) -> String {
    format!("soak-{:016x}{:016x}", rng.u64(..), rng.u64(..))
}

async fn pause(rng: &mut Rng, max_ms: u64) {
    tokio::time::sleep(Duration::from_millis(rng.u64(..=max_ms))).await;
}

/// A purchase at the sandbox (as if the customer had paid a Dodo checkout), then its offers.
async fn buy_and_answer_offers(soak: &Soak, rng: &mut Rng, customer_id: &str) {
    let purchase = soak
        .http()
        .post(format!("{}/_sandbox/purchases", soak.sandbox_url))
        .json(&json!({ "customer_id": customer_id, "product_id": "prod_basic_plan" }))
        .send()
        .await;
    let Some(payment_id) = (match purchase {
        Ok(response) => response.json::<Value>().await.ok(),
        Err(_) => None,
    })
    .and_then(|v| v["payment_id"].as_str().map(String::from)) else {
        return;
    };
    soak.journal.act("purchase");
    let mut instance = rng.usize(..soak.instances());
    let mut offers = None;
    for _ in 0..6 {
        match soak
            .client
            .call(
                &soak.journal,
                instance,
                "GET /v1/offers",
                &format!("/v1/offers?payment_id={payment_id}"),
                None,
                None,
            )
            .await
        {
            Answer::Ok(value) => {
                offers = serde_json::from_value::<OffersResponse>(value).ok();
                break;
            }
            // Refused (Dodo or the database unreachable) or cut off: the widget tries again.
            _ => {
                instance += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
    let Some(offers) = offers else {
        soak.journal.act("offers never loaded");
        return;
    };
    soak.journal.act("offers loaded");
    for offer in offers.offers {
        answer_offer_chain(soak, rng, offer, &offers.payment_methods).await;
    }
}

/// An offer, and its downsells while the customer says no.
async fn answer_offer_chain(soak: &Soak, rng: &mut Rng, offer: Offer, cards: &[PaymentMethod]) {
    let mut next = Some(offer);
    while let Some(offer) = next.take() {
        let item = offer.items[rng.usize(..offer.items.len())].clone();
        let Ok(claims) = soak.keys.verify::<OfferClaims>(&item.token) else {
            soak.journal.bad_answer(format!(
                "offer {}: a token the proxy's keys do not verify",
                offer.offer_id
            ));
            return;
        };
        for other in &offer.items {
            let Ok(sealed) = soak.keys.verify::<OfferClaims>(&other.token) else {
                continue;
            };
            soak.journal.with(|r| {
                r.offer_of_item
                    .insert(sealed.iid.clone(), sealed.oid.clone());
                r.sealed_unit_price
                    .insert((sealed.sub, sealed.iid), sealed.amt);
            });
        }
        let instance = rng.usize(..soak.instances());
        let just_the_token = json!({ "token": item.token });
        if rng.bool() {
            soak.journal.act("impression");
            let _ = soak
                .post(instance, "/v1/offers/impression", &just_the_token)
                .await;
        }
        pause(rng, 200).await;
        match rng.u8(..100) {
            0..=54 => accept(soak, rng, &item, &claims, cards).await,
            55..=79 => {
                soak.journal.act("decline");
                let answer = soak
                    .post(instance, "/v1/offers/decline", &just_the_token)
                    .await;
                next = answer
                    .ok()
                    .and_then(|v| serde_json::from_value::<Offer>(v["next"].clone()).ok());
            }
            80..=89 => fallback_checkout(soak, rng, &item, &claims).await,
            _ => soak.journal.act("walk away"),
        }
    }
}

/// How one click, or one confirm, reaches the proxy: once; twice at once with one key (a double
/// click); again with the same key after its answer was lost; twice at once with two keys (a
/// second tab), on both instances; twice at once with one key on both instances.
#[derive(Debug, Clone, Copy)]
enum Sending {
    Once,
    DoubleClick,
    RetryAfterLostAnswer,
    SecondTab,
    BothInstances,
}

impl Sending {
    const ALL: [Sending; 5] = [
        Sending::Once,
        Sending::DoubleClick,
        Sending::RetryAfterLostAnswer,
        Sending::SecondTab,
        Sending::BothInstances,
    ];

    fn accept_action(self) -> &'static str {
        match self {
            Sending::Once => "accept: one click",
            Sending::DoubleClick => "accept: double click, one key",
            Sending::RetryAfterLostAnswer => "accept: retry after a lost answer, same key",
            Sending::SecondTab => "accept: second tab, another key",
            Sending::BothInstances => "accept: both instances at once, one key",
        }
    }
}

/// Sends `body(key)` to instance `first` (and its neighbour) as `sending` says; the answers
/// that were 2xx, read as `T`.
async fn send<T: serde::de::DeserializeOwned, F, Fut>(
    rng: &mut Rng,
    sending: Sending,
    first: usize,
    key: &str,
    post: F,
    body: impl Fn(&str) -> Value,
) -> Vec<T>
where
    F: Fn(usize, Value) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let other = first + 1;
    let answers = match sending {
        Sending::Once => vec![post(first, body(key)).await],
        Sending::DoubleClick => {
            let (a, b) = tokio::join!(post(first, body(key)), post(first, body(key)));
            vec![a, b]
        }
        Sending::RetryAfterLostAnswer => {
            let lost = post(first, body(key)).await;
            pause(rng, 300).await;
            vec![lost, post(other, body(key)).await]
        }
        Sending::SecondTab => {
            let second_key = idempotency_key(rng);
            let (a, b) = tokio::join!(post(first, body(key)), post(other, body(&second_key)));
            vec![a, b]
        }
        Sending::BothInstances => {
            let (a, b) = tokio::join!(post(first, body(key)), post(other, body(key)));
            vec![a, b]
        }
    };
    answers
        .into_iter()
        .filter_map(|answer| serde_json::from_value(answer.ok()?).ok())
        .collect()
}

async fn accept(
    soak: &Soak,
    rng: &mut Rng,
    item: &OfferItem,
    claims: &OfferClaims,
    cards: &[PaymentMethod],
) {
    let quantity = rng.u32(item.quantity.min..=item.quantity.max);
    if quantity > 1 {
        soak.journal.act("cross-sell quantity above 1");
    }
    let card = (rng.u8(..100) < 30 && !cards.is_empty())
        .then(|| cards[rng.usize(..cards.len())].payment_method_id.clone());
    if card.is_some() {
        soak.journal.act("card chosen");
    }
    let key = idempotency_key(rng);
    let body = |key: &str| {
        json!({ "token": item.token, "idempotency_key": key, "quantity": quantity,
                "payment_method_id": card })
    };
    let click = rng.usize(..Sending::ALL.len());
    soak.journal.act(Sending::ALL[click].accept_action());
    let first = rng.usize(..soak.instances());
    let post = |instance: usize, body: Value| async move {
        soak.post(instance, "/v1/offers/accept", &body).await
    };
    let answers: Vec<AcceptResponse> =
        send(rng, Sending::ALL[click], first, &key, post, body).await;
    let mut accepted = None;
    for response in answers {
        soak.journal.with(|r| {
            r.accepts.insert(
                response.accept_id.clone(),
                AcceptSeen {
                    original_payment_id: claims.sub.clone(),
                    item_id: claims.iid.clone(),
                    amount: claims.amt * i64::from(quantity),
                },
            )
        });
        accepted.get_or_insert(response);
    }
    let Some(response) = accepted else {
        return;
    };
    let outcome = follow_accept(soak, rng, response).await;
    if outcome == Some(AcceptStatus::Failed) && rng.bool() {
        // The widget offers the standard checkout when one click cannot pay.
        fallback_checkout(soak, rng, item, claims).await;
    }
}

/// Polls the accept as the widget does, and answers the bank when it asks (3-D Secure).
async fn follow_accept(
    soak: &Soak,
    rng: &mut Rng,
    mut response: AcceptResponse,
) -> Option<AcceptStatus> {
    let path = format!("/v1/accepts/{}", response.accept_id);
    for _ in 0..20 {
        match response.status {
            AcceptStatus::Succeeded | AcceptStatus::Failed => return Some(response.status),
            AcceptStatus::RequiresAction => {
                if let Some(link) = response.action_url.clone() {
                    answer_bank(soak, rng, &link).await;
                }
                if rng.bool() {
                    return Some(response.status);
                }
            }
            AcceptStatus::Processing => {}
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        let instance = rng.usize(..soak.instances());
        if let Some(next) = soak
            .client
            .call(
                &soak.journal,
                instance,
                "GET /v1/accepts/{id}",
                &path,
                None,
                None,
            )
            .await
            .ok()
            .and_then(|v| serde_json::from_value::<AcceptResponse>(v).ok())
        {
            response = next;
        }
    }
    None
}

/// The bank's 3-D Secure page: confirmed, refused, or left open.
async fn answer_bank(soak: &Soak, rng: &mut Rng, link: &str) {
    let ending = match rng.u8(..100) {
        0..=49 => "complete",
        50..=69 => "fail",
        _ => {
            soak.journal.act("3-D Secure abandoned");
            return;
        }
    };
    soak.journal.act(&format!("3-D Secure: {ending}"));
    let _ = soak.http().post(format!("{link}/{ending}")).send().await;
}

async fn fallback_checkout(soak: &Soak, rng: &mut Rng, item: &OfferItem, claims: &OfferClaims) {
    soak.journal.act("fallback checkout opened");
    let quantity = rng.u32(item.quantity.min..=item.quantity.max);
    let answer = soak
        .post(
            rng.usize(..soak.instances()),
            "/v1/offers/checkout",
            &json!({ "token": item.token, "quantity": quantity }),
        )
        .await;
    let Some(url) = answer
        .ok()
        .and_then(|v| v["checkout_url"].as_str().map(String::from))
    else {
        return;
    };
    let Some(session_id) = url.rsplit('/').next().map(String::from) else {
        return;
    };
    soak.journal.with(|r| {
        // A second click opens the same session; the first quantity is the one it charges.
        r.checkouts.entry(session_id).or_insert(CheckoutSeen {
            original_payment_id: claims.sub.clone(),
            item_id: claims.iid.clone(),
            amount: claims.amt * i64::from(quantity),
        });
    });
    if rng.u8(..100) < 60 {
        soak.journal.act("fallback checkout paid");
        let _ = soak.http().post(format!("{url}/pay")).send().await;
    }
}

/// The ways a plan change is confirmed.
const CONFIRMS: [(&str, Sending); 4] = [
    ("plan change: one confirm", Sending::Once),
    (
        "plan change: two confirms at once, two keys, both instances",
        Sending::SecondTab,
    ),
    (
        "plan change: retry after a lost answer, same key",
        Sending::RetryAfterLostAnswer,
    ),
    (
        "plan change: both instances at once, one key",
        Sending::BothInstances,
    ),
];

async fn change_plan(soak: &Soak, rng: &mut Rng, customer_id: &str, subscription_id: &str) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let Ok(account) = soak.keys.sign(&AccountClaims {
        typ: ACCOUNT.into(),
        sub: subscription_id.into(),
        cus: customer_id.into(),
        iat: now,
        exp: now + 3600,
    }) else {
        return;
    };
    let instance = rng.usize(..soak.instances());
    let Some(offered) = soak
        .client
        .call(
            &soak.journal,
            instance,
            "GET /v1/plan-changes",
            "/v1/plan-changes",
            None,
            Some(&account),
        )
        .await
        .ok()
        .and_then(|v| serde_json::from_value::<PlanChangesResponse>(v).ok())
    else {
        return;
    };
    if offered.plan_changes.is_empty() {
        return;
    }
    let change = &offered.plan_changes[rng.usize(..offered.plan_changes.len())];
    let Ok(claims) = soak.keys.verify::<PlanChangeClaims>(&change.token) else {
        soak.journal
            .bad_answer("a plan change token the proxy's keys do not verify".into());
        return;
    };
    soak.journal.act("plan change previewed");
    let Some(preview) = soak
        .post(
            instance,
            "/v1/plan-changes/preview",
            &json!({ "token": change.token }),
        )
        .await
        .ok()
        .and_then(|v| serde_json::from_value::<PlanChangePreview>(v).ok())
    else {
        return;
    };
    if rng.u8(..100) < 20 {
        soak.journal.act("plan change not confirmed");
        return;
    }
    let confirmed_amount = preview.amount_due_now.amount;
    let body = |key: &str| json!({ "token": change.token, "idempotency_key": key, "confirmed_amount": confirmed_amount });
    let post = |instance: usize, body: Value| async move {
        soak.post(instance, "/v1/plan-changes/confirm", &body).await
    };
    let key = idempotency_key(rng);
    let which = rng.usize(..CONFIRMS.len());
    soak.journal.act(CONFIRMS[which].0);
    let answers: Vec<PlanChangeResult> =
        send(rng, CONFIRMS[which].1, instance, &key, post, body).await;
    let mut result = None;
    for r in answers {
        soak.journal.with(|j| {
            j.changes.insert(
                r.change_ref.clone(),
                ChangeSeen {
                    subscription_id: subscription_id.into(),
                    confirmed_amount,
                    to_product: claims.to.clone(),
                },
            )
        });
        result.get_or_insert(r);
    }
    if let Some(result) = result {
        if result.status == PlanChangeStatus::RequiresAction {
            if let Some(link) = &result.action_url {
                answer_bank(soak, rng, link).await;
            }
        }
    }
}

/// Refunds, now and then, one of the offers' succeeded charges, in full or in part, through
/// Dodo's API: the report must take it off.
pub async fn refund_now_and_then(soak: Arc<Soak>, mut rng: Rng) {
    while !soak.stopped() {
        tokio::time::sleep(Duration::from_millis(800 + rng.u64(..1500))).await;
        let Ok(ledger) = soak.sandbox().ledger().await else {
            continue;
        };
        let refunded: Vec<&str> = ledger["refunds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["payment_id"].as_str())
            .collect();
        let candidates: Vec<&Value> = ledger["charges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["status"] == "succeeded" && c["metadata"]["upsell_offer_id"].is_string())
            .filter(|c| {
                c["payment_id"]
                    .as_str()
                    .is_some_and(|id| !refunded.contains(&id))
            })
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let charge = candidates[rng.usize(..candidates.len())];
        // In full, or a third of its first line: the report takes off what was given back.
        let body = if rng.bool() {
            soak.journal.act("refund in full asked of Dodo");
            json!({ "payment_id": charge["payment_id"], "reason": "soak" })
        } else {
            soak.journal.act("partial refund asked of Dodo");
            let line = &charge["product_cart"][0];
            let amount = charge["total_amount"].as_i64().unwrap_or(0) / 3;
            json!({ "payment_id": charge["payment_id"], "reason": "soak",
                    "items": [{ "item_id": line["product_id"], "amount": amount.max(1) }] })
        };
        let _ = soak
            .http()
            .post(format!("{}/refunds", soak.sandbox_url))
            .bearer_auth(crate::stack::API_KEY)
            .json(&body)
            .send()
            .await;
    }
}
