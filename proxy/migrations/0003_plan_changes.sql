-- Every confirmed plan change, recorded before Dodo is called, so that none is ever sent twice.
CREATE TABLE plan_changes (
    change_ref      TEXT PRIMARY KEY,
    jti             TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    to_product      TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    -- pending → submitted → processing → succeeded | scheduled | failed | on_hold | requires_action
    state           TEXT NOT NULL,
    payment_id      TEXT,
    effective_date  TEXT,
    failure_code    TEXT,
    action_url      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX plan_changes_by_subscription ON plan_changes (subscription_id);
