-- The variant each customer was first shown of an experiment whose traffic moves
-- (`allocation = "bandit"`): they keep it, whatever the shares become. Experiments with a fixed
-- split need no row: their assignment is a hash of the customer id.
CREATE TABLE variant_assignments (
    experiment  TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    variant_id  TEXT NOT NULL,
    -- Unix seconds.
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (experiment, customer_id)
);
