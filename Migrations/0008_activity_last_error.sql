-- Durable schema, version 8: the failure of an activity's last attempt, kept while it waits for its
-- retry, for `durable why` and the task listing.
ALTER TABLE activity_tasks ADD COLUMN last_error text;
