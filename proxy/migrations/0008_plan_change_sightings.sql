-- Plan changes shown to a subscriber (listed with their comparison), once per subscription and
-- rule: what the report's "shown" counts. The rest of a change's story (confirmed, failed, on
-- hold, its money) is in `plan_changes` and `refunds`.
CREATE TABLE plan_change_sightings (
    subscription_id TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    -- Unix seconds.
    first_shown_at  BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, rule_id)
);
