-- One plan change in flight per subscription, enforced by the database itself: two confirms
-- racing on two proxy instances cannot both be recorded (and so cannot both be sent).
CREATE UNIQUE INDEX plan_changes_one_open ON plan_changes (subscription_id)
    WHERE state IN ('pending', 'submitted', 'processing', 'requires_action');
