-- Every accepted offer, recorded before Dodo is called, so that no offer is ever charged twice.
-- One row per (purchase, offer): a second accept of the same offer finds this row instead.
CREATE TABLE accepts (
    accept_id           TEXT PRIMARY KEY,
    jti                 TEXT NOT NULL UNIQUE,
    idempotency_key     TEXT NOT NULL UNIQUE,
    original_payment_id TEXT NOT NULL,
    offer_id            TEXT NOT NULL,
    customer_id         TEXT NOT NULL,
    product_id          TEXT NOT NULL,
    payment_method_id   TEXT NOT NULL,
    quantity            BIGINT NOT NULL,
    amount              BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    -- pending → submitted → processing → succeeded | failed | requires_action
    state               TEXT NOT NULL,
    checkout_session_id TEXT,
    charge_payment_id   TEXT,
    failure_reason      TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (original_payment_id, offer_id)
);

-- Offers the customer said "No thanks" to; never offered again for that purchase.
CREATE TABLE declines (
    original_payment_id TEXT NOT NULL,
    offer_id            TEXT NOT NULL,
    declined_at         TEXT NOT NULL,
    PRIMARY KEY (original_payment_id, offer_id)
);

-- Webhook ids already processed: Dodo may deliver an event more than once.
CREATE TABLE webhook_events (
    webhook_id  TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    received_at TEXT NOT NULL
);
