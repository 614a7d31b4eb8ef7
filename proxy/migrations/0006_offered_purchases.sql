-- Purchases that offers fit, each with the arm its customer is in: `offers` (shown what fits)
-- or `holdout` (shown nothing, so that the report can say what showing offers adds). Once per
-- purchase: the first lookup decides, later ones change nothing.
CREATE TABLE offered_purchases (
    payment_id   TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    arm          TEXT NOT NULL,
    currency     TEXT NOT NULL,
    -- The purchase's total, in minor units: what a refund in full of it takes back.
    total        BIGINT NOT NULL,
    -- Unix seconds: when the purchase was made.
    purchased_at BIGINT NOT NULL
);
CREATE INDEX offered_purchases_by_arm ON offered_purchases (arm);
