-- Durable schema, version 6: ready work as an index, not a search.
--
-- inbox_at is the earliest visible_at of an instance's messages (NULL: none). An instance can be
-- claimed from greatest(inbox_at, locked_until): its first message is due and nobody holds a live
-- lease. One partial expression index in that order lets a claim walk the ready instances oldest
-- first and read only the rows it returns, and gives the next due time as the first row past now,
-- however many instances wait, sleep, run or have finished. Every write that adds messages lowers
-- inbox_at; every write that consumes or delays them sets it anew.
ALTER TABLE instances ADD COLUMN inbox_at timestamptz;
UPDATE instances i SET inbox_at = (
    SELECT min(m.visible_at) FROM messages m
    WHERE m.instance_id = i.id AND (m.execution_id IS NULL OR m.execution_id = i.execution_id)
) WHERE i.status IN ('pending', 'running');
-- A new instance comes with its start message, visible now.
ALTER TABLE instances ALTER COLUMN inbox_at SET DEFAULT now();
CREATE INDEX instances_ready_idx ON instances ((greatest(inbox_at, locked_until))) WHERE inbox_at IS NOT NULL;

-- Messages of an instance by due time: what a commit reads to set inbox_at anew.
CREATE INDEX messages_instance_visible_idx ON messages (instance_id, visible_at);

-- Activity claims walk visible_at; cancelled tasks are collected through their own small index.
CREATE INDEX activity_tasks_cancelled_idx ON activity_tasks (visible_at) WHERE cancel_requested;
