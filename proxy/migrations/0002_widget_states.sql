-- Why a charge failed as a stable code the widget translates, and where the customer confirms a
-- payment that requires action (3-D Secure).
ALTER TABLE accepts ADD COLUMN failure_code TEXT;
ALTER TABLE accepts ADD COLUMN action_url TEXT;
