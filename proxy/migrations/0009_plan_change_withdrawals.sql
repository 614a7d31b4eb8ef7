-- Scheduled plan changes a subscriber undid (Dodo's DELETE /subscriptions/{id}/change-plan/
-- scheduled), recorded before Dodo is called: one per token and per idempotency key, so a double
-- click, a retry or a replayed token gets the first withdrawal's outcome and Dodo is asked once.
CREATE TABLE plan_change_withdrawals (
    jti             TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    -- The plan kept, and the one the scheduled change moved to.
    from_product    TEXT NOT NULL,
    to_product      TEXT NOT NULL,
    -- pending (recorded, Dodo not answered yet), withdrawn, failed.
    state           TEXT NOT NULL,
    failure_code    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
