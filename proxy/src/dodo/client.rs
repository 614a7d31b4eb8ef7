//! The proxy's calls to Dodo, through the official `dodopayments` crate.
//!
//! Two clients: reads may be retried by the SDK (they change nothing), but the charge call must
//! never be: Dodo has no idempotency key on `POST /checkouts`, so an SDK retry after a timeout
//! could charge twice. The charge client has `max_retries = 0`.

use super::product_cache::{TtlCache, PRODUCT_TTL};
use dodopayments::models::{
    CheckoutSessionResponse, CheckoutSessionStatus, CheckoutSessionsCreateParams, Currency,
    Payment, PaymentListResponse, Product, RefundListItem, Subscription,
    SubscriptionChangePlanResponse, SubscriptionListResponse,
    SubscriptionPreviewChangePlanResponse, SubscriptionsChangePlanParams,
};
use dodopayments::{Client, ClientConfig, Error};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Dodo's largest page of a list.
const LIST_PAGE_SIZE: usize = 100;

#[derive(Clone, Debug)]
pub struct DodoApi {
    reads: Client,
    charges: Client,
    products: Arc<TtlCache<Product>>,
}

/// A saved payment method, as `GET /customers/{id}/payment-methods` describes it (the SDK
/// leaves the items untyped).
#[derive(Debug, Clone, Deserialize)]
pub struct SavedMethod {
    pub payment_method_id: String,
    pub payment_method: String,
    pub card: Option<SavedCardDetails>,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SavedCardDetails {
    pub card_network: Option<String>,
    pub last4_digits: Option<String>,
    pub expiry_month: Option<String>,
    pub expiry_year: Option<String>,
}

/// A product's one-time price (the SDK leaves `price` untyped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimePrice {
    /// After the product's percentage discount, in minor units; half a minor unit rounds up.
    pub unit_amount: i64,
    /// Before the discount: shown struck through when it differs.
    pub list_amount: i64,
    pub currency: String,
}

impl DodoApi {
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> Result<Self, Error> {
        let config = ClientConfig::new(base_url)
            .with_api_key(api_key)
            .with_timeout(timeout);
        Ok(Self {
            reads: Client::new(config.clone())?,
            charges: Client::new(config.with_max_retries(0))?,
            products: Arc::new(TtlCache::new(PRODUCT_TTL)),
        })
    }

    pub async fn payment(&self, payment_id: &str) -> Result<Payment, Error> {
        self.reads
            .payments()
            .retrieve()
            .payment_id(payment_id)
            .send()
            .await
    }

    /// A product, from the cache when it was read within `PRODUCT_TTL` (see `product_cache`).
    pub async fn product(&self, product_id: &str) -> Result<Product, Error> {
        if let Some(product) = self.products.get(product_id, Instant::now()) {
            return Ok(product);
        }
        let product = self.fresh_product(product_id).await?;
        self.products
            .put(product_id, product.clone(), Instant::now());
        Ok(product)
    }

    /// A product as Dodo has it now, never from the cache: what a charge is checked against.
    pub async fn fresh_product(&self, product_id: &str) -> Result<Product, Error> {
        self.reads.products().retrieve().id(product_id).send().await
    }

    pub async fn payment_methods(&self, customer_id: &str) -> Result<Vec<SavedMethod>, Error> {
        let response = self
            .reads
            .customers()
            .retrieve_payment_methods()
            .customer_id(customer_id)
            .send()
            .await?;
        response
            .items
            .into_iter()
            .map(|item| serde_json::from_value(item).map_err(Error::Json))
            .collect()
    }

    /// Creates a confirmed checkout session: this charges the card. Never retried.
    pub async fn create_confirmed_checkout(
        &self,
        params: CheckoutSessionsCreateParams,
    ) -> Result<CheckoutSessionResponse, Error> {
        self.charges
            .checkout_sessions()
            .create()
            .body(params)
            .send()
            .await
    }

    /// Creates an unconfirmed checkout session: the customer pays on its hosted page. Nothing
    /// is charged by this call, so the SDK may retry it.
    pub async fn create_checkout(
        &self,
        params: CheckoutSessionsCreateParams,
    ) -> Result<CheckoutSessionResponse, Error> {
        self.reads
            .checkout_sessions()
            .create()
            .body(params)
            .send()
            .await
    }

    pub async fn subscription(&self, subscription_id: &str) -> Result<Subscription, Error> {
        self.reads
            .subscriptions()
            .retrieve()
            .subscription_id(subscription_id)
            .send()
            .await
    }

    /// Dodo's estimate of a plan change. Changes nothing, so the SDK may retry it.
    pub async fn preview_plan_change(
        &self,
        subscription_id: &str,
        params: SubscriptionsChangePlanParams,
    ) -> Result<SubscriptionPreviewChangePlanResponse, Error> {
        self.reads
            .subscriptions()
            .preview_change_plan()
            .subscription_id(subscription_id)
            .body(params)
            .send()
            .await
    }

    /// Changes a subscription's plan: this may charge its card. Never retried.
    pub async fn change_plan(
        &self,
        subscription_id: &str,
        params: SubscriptionsChangePlanParams,
    ) -> Result<SubscriptionChangePlanResponse, Error> {
        self.charges
            .subscriptions()
            .change_plan()
            .subscription_id(subscription_id)
            .body(params)
            .send()
            .await
    }

    /// Withdraws the change scheduled for the subscription's next billing date. Moves no
    /// money; sent once all the same (its outcome is read from the subscription).
    pub async fn cancel_change_plan(&self, subscription_id: &str) -> Result<(), Error> {
        self.charges
            .subscriptions()
            .cancel_change_plan()
            .subscription_id(subscription_id)
            .send()
            .await
    }

    /// Dodo's page on which the subscriber gives a new card (`update-payment-method`, `type:
    /// new`): its link, if Dodo gives one. Opening a page moves no money (the customer pays on
    /// it, once), so it may be asked for again; a new one each time. No `return_url`: the page
    /// opens in a tab of its own beside the widget, which follows the subscription meanwhile.
    pub async fn update_payment_method(
        &self,
        subscription_id: &str,
    ) -> Result<Option<String>, Error> {
        let answer = self
            .charges
            .subscriptions()
            .update_payment_method()
            .subscription_id(subscription_id)
            .body(json!({ "type": "new" }))
            .send()
            .await?;
        Ok(answer.payment_link)
    }

    pub async fn checkout_status(&self, session_id: &str) -> Result<CheckoutSessionStatus, Error> {
        self.reads
            .checkout_sessions()
            .retrieve()
            .id(session_id)
            .send()
            .await
    }

    /// Every succeeded payment created since `since` (RFC 3339), newest first: how revenue is
    /// learned when Dodo's webhooks do not arrive (`analytics::sweep`).
    pub async fn succeeded_payments_since(
        &self,
        since: &str,
    ) -> Result<Vec<PaymentListResponse>, Error> {
        every_page(|page_number| async move {
            let page = self
                .reads
                .payments()
                .list()
                .query(recent_succeeded(since, page_number))
                .send()
                .await?;
            Ok(page.items)
        })
        .await
    }

    /// Every succeeded refund created since `since` (RFC 3339).
    pub async fn refunds_since(&self, since: &str) -> Result<Vec<RefundListItem>, Error> {
        every_page(|page_number| async move {
            let page = self
                .reads
                .refunds()
                .list()
                .query(recent_succeeded(since, page_number))
                .send()
                .await?;
            Ok(page.items)
        })
        .await
    }

    /// The customer's most recent succeeded payments, newest first: at most one page of
    /// `LIST_PAGE_SIZE`. (Dodo's list items name no products; `payment` does.)
    pub async fn recent_payments_of(
        &self,
        customer_id: &str,
    ) -> Result<Vec<PaymentListResponse>, Error> {
        let page = self
            .reads
            .payments()
            .list()
            .query(json!({
                "customer_id": customer_id,
                "status": "succeeded",
                "page_size": LIST_PAGE_SIZE,
            }))
            .send()
            .await?;
        Ok(page.items)
    }

    /// Every subscription of the customer, whatever its status.
    pub async fn subscriptions_of(
        &self,
        customer_id: &str,
    ) -> Result<Vec<SubscriptionListResponse>, Error> {
        every_page(|page_number| async move {
            let page = self
                .reads
                .subscriptions()
                .list()
                .query(json!({
                    "customer_id": customer_id,
                    "page_size": LIST_PAGE_SIZE,
                    "page_number": page_number,
                }))
                .send()
                .await?;
            Ok(page.items)
        })
        .await
    }

    /// The payment whose metadata holds `key = value`, among the customer's payments created
    /// since `since`: how a charge whose answer was lost is found again.
    pub async fn find_payment_by_metadata(
        &self,
        customer_id: &str,
        since: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<PaymentListResponse>, Error> {
        for page_number in 0.. {
            let page = self
                .reads
                .payments()
                .list()
                .query(json!({
                    "customer_id": customer_id,
                    "created_at_gte": since,
                    "page_size": LIST_PAGE_SIZE,
                    "page_number": page_number,
                }))
                .send()
                .await?;
            let last_page = page.items.len() < LIST_PAGE_SIZE;
            if let Some(found) = page
                .items
                .into_iter()
                .find(|p| p.metadata.get(key).and_then(|v| v.as_str()) == Some(value))
            {
                return Ok(Some(found));
            }
            if last_page {
                break;
            }
        }
        Ok(None)
    }

    /// Among a subscription's latest succeeded payments (Dodo's first page, newest first), the
    /// one whose metadata holds `key = value`: how a charge made again is found (a
    /// subscription on hold paying what it owed, with the metadata of the payment that failed).
    pub async fn succeeded_subscription_payment_by_metadata(
        &self,
        subscription_id: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<PaymentListResponse>, Error> {
        let page = self
            .reads
            .payments()
            .list()
            .query(json!({
                "subscription_id": subscription_id,
                "status": "succeeded",
                "page_size": LIST_PAGE_SIZE,
            }))
            .send()
            .await?;
        Ok(page
            .items
            .into_iter()
            .find(|p| p.metadata.get(key).and_then(|v| v.as_str()) == Some(value)))
    }
}

/// The query of one page of a list of what succeeded since `since`.
fn recent_succeeded(since: &str, page_number: usize) -> Value {
    json!({
        "status": "succeeded",
        "created_at_gte": since,
        "page_size": LIST_PAGE_SIZE,
        "page_number": page_number,
    })
}

/// Every item of a list Dodo answers a page at a time (`page(n)`, from 0), until a page that is
/// not full.
async fn every_page<T, F, Fut>(mut page: F) -> Result<Vec<T>, Error>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, Error>>,
{
    let mut all = Vec::new();
    for page_number in 0.. {
        let items = page(page_number).await?;
        let last_page = items.len() < LIST_PAGE_SIZE;
        all.extend(items);
        if last_page {
            break;
        }
    }
    Ok(all)
}

/// A product's price of `kind` (`one_time_price`, `recurring_price`): its JSON, the list
/// price and the price after the product's percentage discount (half a minor unit rounds up),
/// and its upper-case currency. `None` for another kind or an unreadable price.
fn discounted_price<'a>(product: &'a Product, kind: &str) -> Option<(&'a Value, i64, i64, String)> {
    use dodopayments::models::Price;
    // The SDK types `price` as an untagged union of untyped values; `type` says which it is.
    let (Price::Variant0(value) | Price::Variant1(value) | Price::Variant2(value)) =
        product.price.as_ref();
    if value.get("type")?.as_str()? != kind {
        return None;
    }
    let price = value.get("price")?.as_i64()?;
    let discount = value.get("discount")?.as_i64()?;
    if !(0..=100).contains(&discount) || price < 0 {
        return None;
    }
    let currency = value.get("currency")?.as_str()?.to_uppercase();
    Some((
        value,
        price,
        (price * (100 - discount) + 50) / 100,
        currency,
    ))
}

/// Reads a product's one-time price; `None` for recurring or usage-based prices.
pub fn one_time_price(product: &Product) -> Option<OneTimePrice> {
    let (_, list_amount, unit_amount, currency) = discounted_price(product, "one_time_price")?;
    Some(OneTimePrice {
        unit_amount,
        list_amount,
        currency,
    })
}

/// A product's recurring price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurringPrice {
    /// Per billing period, after the product's percentage discount, in minor units.
    pub amount: i64,
    pub currency: String,
    /// `day`, `week`, `month` or `year`.
    pub interval: String,
    pub interval_count: u32,
}

/// Reads a product's recurring price; `None` for one-time or usage-based prices.
pub fn recurring_price(product: &Product) -> Option<RecurringPrice> {
    let (value, _, amount, currency) = discounted_price(product, "recurring_price")?;
    Some(RecurringPrice {
        amount,
        currency,
        interval: value
            .get("payment_frequency_interval")?
            .as_str()?
            .to_lowercase(),
        interval_count: u32::try_from(value.get("payment_frequency_count")?.as_i64()?).ok()?,
    })
}

/// True when a card's expiry month is still running at `now`.
pub fn card_is_current(card: &SavedCardDetails, now: time::OffsetDateTime) -> bool {
    let parse = |s: &Option<String>| s.as_deref().and_then(|v| v.trim().parse::<i32>().ok());
    match (parse(&card.expiry_year), parse(&card.expiry_month)) {
        (Some(year), Some(month)) => {
            let year = if year < 100 { 2000 + year } else { year };
            (year, month) >= (now.year(), i32::from(u8::from(now.month())))
        }
        _ => false,
    }
}

/// ISO 4217 code of Dodo's `Currency` enum (serialized upper case).
pub fn currency_code(currency: &Currency) -> String {
    serde_json::to_value(currency)
        .ok()
        .and_then(|v| v.as_str().map(str::to_uppercase))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn card(month: &str, year: &str) -> SavedCardDetails {
        SavedCardDetails {
            card_network: Some("Visa".into()),
            last4_digits: Some("4242".into()),
            expiry_month: Some(month.into()),
            expiry_year: Some(year.into()),
        }
    }

    #[test]
    fn a_card_is_usable_through_its_expiry_month() {
        let now = datetime!(2026-11-24 12:00 UTC);
        assert!(card_is_current(&card("11", "2026"), now));
        assert!(card_is_current(&card("01", "27"), now));
        assert!(!card_is_current(&card("10", "2026"), now));
        assert!(!card_is_current(&card("xx", "2026"), now));
    }
}
