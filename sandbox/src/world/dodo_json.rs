//! Dodo's response shapes, with every field the official `dodopayments` crate requires
//! (its response structs have no defaults, so a missing field would fail its deserialization),
//! and the nested shapes of the TypeScript SDK where the Rust crate leaves them untyped.

use crate::world::seed::{Interval, SeedProduct};
use crate::world::store::{unit_price, Payment, PaymentMethod, Refund, Store, Subscription};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339, as Dodo writes timestamps.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Dodo's capitalised `TimeInterval`.
pub fn interval_name(interval: Interval) -> &'static str {
    match interval {
        Interval::Day => "Day",
        Interval::Week => "Week",
        Interval::Month => "Month",
        Interval::Year => "Year",
    }
}

fn customer(store: &Store, customer_id: &str) -> Value {
    let customer = store.customers.get(customer_id);
    json!({
        "customer_id": customer_id,
        "email": customer.map(|c| c.email.as_str()).unwrap_or_default(),
        "name": customer.map(|c| c.name.as_str()).unwrap_or_default(),
    })
}

/// `POST /refunds`, `GET /refunds/{id}` and the `data` of `refund.*` webhooks.
pub fn refund(store: &Store, refund: &Refund) -> Value {
    json!({
        "refund_id": refund.refund_id,
        "payment_id": refund.payment_id,
        "business_id": store.business_id,
        "brand_id": store.brand_id,
        "metadata": refund.metadata,
        "status": "succeeded",
        "created_at": rfc3339(refund.created_at),
        "is_partial": refund.is_partial,
        "amount": refund.amount,
        "currency": refund.currency,
        "reason": refund.reason,
        "customer": customer(store, &refund.customer_id),
    })
}

/// `GET /payments/{id}` and the `data` of `payment.*` webhooks.
pub fn payment(store: &Store, payment: &Payment) -> Value {
    let method: Option<&PaymentMethod> = payment
        .payment_method_id
        .as_ref()
        .and_then(|id| store.payment_methods.get(id));
    let refunded: i64 = store
        .refunds
        .iter()
        .filter(|r| r.payment_id == payment.payment_id)
        .map(|r| r.amount)
        .sum();
    // Dodo's `PaymentRefundStatus`: given back in part or in full; absent before any refund.
    let refund_status = match refunded {
        0 => None,
        r if r >= payment.total_amount => Some("full"),
        _ => Some("partial"),
    };
    json!({
        "payment_id": payment.payment_id,
        "refund_status": refund_status,
        "business_id": store.business_id,
        "brand_id": store.brand_id,
        "created_at": rfc3339(payment.created_at),
        "updated_at": rfc3339(payment.updated_at),
        "currency": payment.currency,
        "total_amount": payment.total_amount,
        "settlement_amount": payment.total_amount,
        "settlement_currency": payment.currency,
        "payment_provider": "dodo",
        "billing": payment.billing,
        "customer": customer(store, &payment.customer_id),
        "metadata": payment.metadata,
        "digital_products_delivered": false,
        "disputes": [],
        "refunds": store
            .refunds
            .iter()
            .filter(|r| r.payment_id == payment.payment_id)
            .map(|r| refund(store, r))
            .collect::<Vec<_>>(),
        "includes_usage": false,
        "is_multi_subscription": false,
        "is_update_payment_method": false,
        "retry_attempt": 0,
        "service_periods": [],
        "subscription_ids": payment.subscription_id.iter().collect::<Vec<_>>(),
        "subscription_id": payment.subscription_id,
        "status": payment.status,
        "error_code": payment.error_code,
        "error_message": payment.error_message,
        "charge_type": payment.charge_type,
        "checkout_session_id": payment.checkout_session_id,
        "payment_link": payment.payment_link,
        "payment_method": method.map(|_| "card"),
        "payment_method_id": payment.payment_method_id,
        "payment_method_type": method.map(|_| "credit"),
        "card_last_four": method.map(|m| m.last4.as_str()),
        "card_network": method.map(|m| m.network.as_str()),
        "card_type": method.map(|_| "CREDIT"),
        "card_exp_month": method.map(|m| m.expiry_month.as_str()),
        "card_exp_year": method.map(|m| m.expiry_year.as_str()),
        "product_cart": payment.cart,
        "tax": 0,
    })
}

/// `GET /products/{id}`: a one-time or a recurring price.
pub fn product(store: &Store, product: &SeedProduct, created_at: OffsetDateTime) -> Value {
    let price = match product.interval {
        None => json!({
            "type": "one_time_price",
            "currency": product.currency,
            "discount": product.discount,
            "price": product.price,
            "purchasing_power_parity": false,
            "tax_inclusive": false,
        }),
        Some(interval) => json!({
            "type": "recurring_price",
            "currency": product.currency,
            "discount": product.discount,
            "price": product.price,
            "purchasing_power_parity": false,
            "tax_inclusive": false,
            "payment_frequency_count": product.interval_count,
            "payment_frequency_interval": interval_name(interval),
            "subscription_period_count": 10,
            "subscription_period_interval": "Year",
            "trial_period_days": 0,
        }),
    };
    json!({
        "product_id": product.product_id,
        "business_id": store.business_id,
        "brand_id": store.brand_id,
        "created_at": rfc3339(created_at),
        "updated_at": rfc3339(created_at),
        "name": product.name,
        "description": product.description,
        "image": product.image,
        "is_recurring": product.interval.is_some(),
        "license_key_enabled": false,
        "metadata": {},
        "tax_category": if product.interval.is_some() { "saas" } else { "digital_products" },
        "price": price,
        "credit_entitlements": [],
        "entitlements": [],
        "addons": product.addons,
    })
}

/// One item of `GET /customers/{id}/payment-methods`.
pub fn payment_method(method: &PaymentMethod) -> Value {
    json!({
        "payment_method": "card",
        "payment_method_id": method.payment_method_id,
        "payment_method_type": "credit",
        "recurring_enabled": true,
        "last_used_at": rfc3339(method.last_used_at),
        "card": {
            "card_holder_name": null,
            "card_issuing_country": "US",
            "card_network": method.network,
            "card_type": "CREDIT",
            "expiry_month": method.expiry_month,
            "expiry_year": method.expiry_year,
            "last4_digits": method.last4,
        },
    })
}

/// `GET /subscriptions/{id}`, `new_plan` of a preview, and the `data` of `subscription.*`.
pub fn subscription(store: &Store, sub: &Subscription) -> Value {
    let product = store.products.get(&sub.plan.product_id);
    let interval = product
        .and_then(|p| p.interval)
        .map_or("Month", interval_name);
    let count = product.map_or(1, |p| p.interval_count);
    let recurring = product.map_or(0, |p| unit_price(p) * sub.plan.quantity);
    let scheduled = sub.scheduled_change.as_ref().map(|change| {
        let target = store.products.get(&change.plan.product_id);
        json!({
            "id": change.id,
            "addons": change.plan.addons.iter().map(|a| json!({
                "addon_id": a.addon_id,
                "name": store.addons.get(&a.addon_id).map(|x| x.name.as_str()).unwrap_or_default(),
                "quantity": a.quantity,
            })).collect::<Vec<_>>(),
            "created_at": rfc3339(change.created_at),
            "effective_at": rfc3339(change.effective_at),
            "product_id": change.plan.product_id,
            "product_name": target.map(|p| p.name.as_str()),
            "product_description": target.and_then(|p| p.description.as_deref()),
            "quantity": change.plan.quantity,
        })
    });
    json!({
        "subscription_id": sub.subscription_id,
        "status": sub.status,
        "product_id": sub.plan.product_id,
        "quantity": sub.plan.quantity,
        "currency": sub.currency,
        "customer": customer(store, &sub.customer_id),
        "billing": sub.billing,
        "brand_id": store.brand_id,
        "metadata": sub.metadata,
        "created_at": rfc3339(sub.created_at),
        "addons": sub.plan.addons,
        "cancel_at_next_billing_date": false,
        "has_payment_method": true,
        "payment_method_id": sub.payment_method_id,
        "tax_inclusive": false,
        "trial_period_days": 0,
        "on_demand": false,
        "recurring_pre_tax_amount": recurring,
        "next_billing_date": rfc3339(sub.next_billing_date),
        "previous_billing_date": rfc3339(sub.previous_billing_date),
        "payment_frequency_count": count,
        "payment_frequency_interval": interval,
        "subscription_period_count": count,
        "subscription_period_interval": interval,
        "credit_entitlement_cart": [],
        "meter_credit_entitlement_cart": [],
        "meters": [],
        "scheduled_change": scheduled,
        "discounts": [],
    })
}
