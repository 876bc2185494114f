-- Durable schema, version 13: an activity's latest heartbeat (its details, a checkpoint) and when
-- it was written; kept across retries and takeovers for the next attempt, shown by `durable why`.
ALTER TABLE activity_tasks ADD COLUMN heartbeat text, ADD COLUMN heartbeat_at timestamptz;
