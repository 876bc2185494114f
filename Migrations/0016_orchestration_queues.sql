-- Durable schema, version 16: task queues for orchestrations. Every instance's turns go to a queue
-- ('default' unless its start named one); the ready index leads with it, so a claim walks each
-- queue it serves in claim order and reads only the rows it returns, and the next due time of a
-- queue is its first row past now. Adding the column with a constant default rewrites no rows;
-- every instance in flight stays on the default queue.
ALTER TABLE instances ADD COLUMN queue text NOT NULL DEFAULT 'default';
DROP INDEX instances_ready_idx;
CREATE INDEX instances_ready_idx ON instances (queue, (greatest(inbox_at, locked_until))) WHERE inbox_at IS NOT NULL;
