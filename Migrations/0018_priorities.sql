-- Durable schema, version 18: priorities. Instances carry theirs (3, the default, for every
-- instance in flight); an activity task's is its request's (a generated column, so no write has to
-- set it). The ready indexes put it after the queue: a claim descends each level's index in claim
-- order and takes the best of those (docs/flow-control.md), reading only the rows it returns.
ALTER TABLE instances ADD COLUMN priority smallint NOT NULL DEFAULT 3;
ALTER TABLE activity_tasks ADD COLUMN priority smallint GENERATED ALWAYS AS (coalesce((request::jsonb ->> 'priority')::smallint, 3)) STORED;
DROP INDEX instances_ready_idx;
CREATE INDEX instances_ready_idx ON instances (queue, priority, (greatest(inbox_at, locked_until))) WHERE inbox_at IS NOT NULL;
DROP INDEX activity_tasks_ready_idx;
CREATE INDEX activity_tasks_ready_idx ON activity_tasks (queue, priority, visible_at, seq);
