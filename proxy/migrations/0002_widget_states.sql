-- Why a charge failed as a stable code the widget translates, and where the customer confirms a
-- payment that requires action (3-D Secure).
ALTER TABLE accepts ADD COLUMN failure_code TEXT;
ALTER TABLE accepts ADD COLUMN action_url TEXT;

-- Standard Dodo checkouts opened for an offered item when one click could not pay: one per
-- offer token, so repeated clicks open the same checkout, and the item is not offered again.
CREATE TABLE fallback_checkouts (
    jti                 TEXT PRIMARY KEY,
    original_payment_id TEXT NOT NULL,
    item_id             TEXT NOT NULL,
    session_id          TEXT NOT NULL,
    checkout_url        TEXT NOT NULL,
    created_at          TEXT NOT NULL
);
