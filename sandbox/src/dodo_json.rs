//! Dodo's response shapes, with every field the official `dodopayments` crate requires
//! (its response structs have no defaults, so a missing field would fail its deserialization).

use crate::seed::SeedProduct;
use crate::store::{Payment, PaymentMethod, Store};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339, as Dodo writes timestamps.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// `GET /payments/{id}` and the `data` of `payment.*` webhooks.
pub fn payment(store: &Store, payment: &Payment) -> Value {
    let customer = store.customers.get(&payment.customer_id);
    let method = store.payment_methods.get(&payment.payment_method_id);
    json!({
        "payment_id": payment.payment_id,
        "business_id": store.business_id,
        "brand_id": store.brand_id,
        "created_at": rfc3339(payment.created_at),
        "updated_at": rfc3339(payment.created_at),
        "currency": payment.currency,
        "total_amount": payment.total_amount,
        "settlement_amount": payment.total_amount,
        "settlement_currency": payment.currency,
        "payment_provider": "dodo",
        "billing": payment.billing,
        "customer": {
            "customer_id": payment.customer_id,
            "email": customer.map(|c| c.email.as_str()).unwrap_or_default(),
            "name": customer.map(|c| c.name.as_str()).unwrap_or_default(),
        },
        "metadata": payment.metadata,
        "digital_products_delivered": false,
        "disputes": [],
        "refunds": [],
        "includes_usage": false,
        "is_multi_subscription": false,
        "is_update_payment_method": false,
        "retry_attempt": 0,
        "service_periods": [],
        "subscription_ids": [],
        "status": payment.status,
        "error_code": payment.error_code,
        "error_message": payment.error_message,
        "charge_type": "new",
        "checkout_session_id": payment.checkout_session_id,
        "payment_method": "card",
        "payment_method_id": payment.payment_method_id,
        "payment_method_type": "credit",
        "card_last_four": method.map(|m| m.last4.as_str()),
        "card_network": method.map(|m| m.network.as_str()),
        "card_type": "CREDIT",
        "card_exp_month": method.map(|m| m.expiry_month.as_str()),
        "card_exp_year": method.map(|m| m.expiry_year.as_str()),
        "product_cart": payment.cart,
        "tax": 0,
    })
}

/// `GET /products/{id}`: a one-time price.
pub fn product(store: &Store, product: &SeedProduct, created_at: OffsetDateTime) -> Value {
    json!({
        "product_id": product.product_id,
        "business_id": store.business_id,
        "brand_id": store.brand_id,
        "created_at": rfc3339(created_at),
        "updated_at": rfc3339(created_at),
        "name": product.name,
        "description": product.description,
        "image": product.image,
        "is_recurring": false,
        "license_key_enabled": false,
        "metadata": {},
        "tax_category": "digital_products",
        "price": {
            "type": "one_time_price",
            "currency": product.currency,
            "discount": product.discount,
            "price": product.price,
            "purchasing_power_parity": false,
            "tax_inclusive": false,
        },
        "credit_entitlements": [],
        "entitlements": [],
        "addons": [],
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
