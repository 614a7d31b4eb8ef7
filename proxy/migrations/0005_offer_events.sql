-- What happened to each offer, for the merchant's report: one row per fact, whose key makes a
-- second delivery of the same fact (the widget's or Dodo's) change nothing.
--   impression  the customer saw the offer (once per purchase and offer)
--   accept      the customer accepted an item (once per accept), or went to a standard
--               checkout for it when one click could not pay (once per offer token)
--   decline     the customer said "No thanks" (once per purchase and offer)
--   paid        Dodo confirmed an accepted item's payment by webhook (once per accept), or a
--               payment in such a standard checkout (once per payment)
-- Failures are read from the accepts themselves. Nothing personal beyond Dodo's customer id is
-- kept.
CREATE TABLE offer_events (
    event_key           TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    offer_id            TEXT NOT NULL,
    variant_id          TEXT NOT NULL,
    original_payment_id TEXT NOT NULL,
    customer_id         TEXT NOT NULL,
    accept_id           TEXT,
    charge_payment_id   TEXT,
    amount              BIGINT,
    currency            TEXT,
    -- Unix seconds: when the offer's window closes (impressions), and when the fact happened.
    expires_at          BIGINT,
    occurred_at         BIGINT NOT NULL
);
CREATE INDEX offer_events_by_offer ON offer_events (offer_id, variant_id, kind);
CREATE INDEX offer_events_by_purchase ON offer_events (original_payment_id, offer_id);
CREATE INDEX offer_events_by_accept ON offer_events (accept_id);
CREATE INDEX offer_events_by_charge ON offer_events (charge_payment_id);

-- Refunds Dodo confirmed by webhook (`refund.succeeded`), whatever the payment: the report takes
-- those of offers' payments off their revenue, whichever of the two webhooks came first.
CREATE TABLE refunds (
    refund_id   TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL,
    -- Minor units; NULL: the whole payment.
    amount      BIGINT,
    refunded_at BIGINT NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
