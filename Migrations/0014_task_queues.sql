-- Durable schema, version 14: task queues. Every activity task belongs to a queue ('default' unless
-- its call named one); a claim walks one queue's ready tasks in claim order through the index.
-- Cancelled tasks whose node stopped are claimed like others (to report the cancellation), so their
-- garbage-collection index goes.
ALTER TABLE activity_tasks ADD COLUMN queue text NOT NULL DEFAULT 'default';
DROP INDEX activity_tasks_ready_idx;
CREATE INDEX activity_tasks_ready_idx ON activity_tasks (queue, visible_at, seq);
DROP INDEX activity_tasks_cancelled_idx;
