-- Durable schema, version 18: priorities (docs/flow-control.md). Instances and activity tasks carry
-- a level, 1 (highest) to 5 (lowest); 3, the default, for everything in flight. The ready indexes
-- order by the claim rank, the ready time in epoch seconds moved 60 s per level from the default
-- (earlier for higher levels), which is the claim order with aging: a claim walks it once, as
-- before. The rank is built of immutable built-in operators (ClaimRank.swift spells it the same
-- way, which the planner needs to match the index). Ready items of lower levels than the default
-- whose rank has not come yet are found through a second index that holds the levels other than
-- the default only (nothing is written to it while every item has the default), read only when
-- the first walk leaves room; it also gives the exact next due time of those levels.
ALTER TABLE instances ADD COLUMN priority smallint NOT NULL DEFAULT 3;
ALTER TABLE activity_tasks ADD COLUMN priority smallint NOT NULL DEFAULT 3;
DROP INDEX instances_ready_idx;
CREATE INDEX instances_ready_idx ON instances
    (queue, (date_part('epoch', greatest(inbox_at, locked_until) - timestamptz 'epoch') + 60 * (priority - 3)))
    WHERE inbox_at IS NOT NULL;
CREATE INDEX instances_prioritized_idx ON instances (queue, priority, (greatest(inbox_at, locked_until)))
    WHERE inbox_at IS NOT NULL AND priority <> 3;
DROP INDEX activity_tasks_ready_idx;
CREATE INDEX activity_tasks_ready_idx ON activity_tasks
    (queue, (date_part('epoch', visible_at - timestamptz 'epoch') + 60 * (priority - 3)), seq);
CREATE INDEX activity_tasks_prioritized_idx ON activity_tasks (queue, priority, visible_at, seq) WHERE priority <> 3;
