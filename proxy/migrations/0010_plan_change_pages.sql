-- A failed change, or one on hold, now keeps the link to Dodo's page for a new card, and the
-- widget shows it. Before, such a change could keep the link of its 3-D Secure page, which has
-- expired: it must not be shown as the page for a new card.
UPDATE plan_changes SET action_url = NULL WHERE state IN ('failed', 'on_hold');
