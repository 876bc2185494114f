-- Durable schema, version 5: the length of each instance's current history, kept by every turn
-- commit, so that fencing a commit and claiming a turn of a long history read one row, not the
-- whole history.
ALTER TABLE instances ADD COLUMN history_length integer NOT NULL DEFAULT 0;
UPDATE instances i SET history_length = (
    SELECT count(*) FROM history h WHERE h.instance_id = i.id AND h.execution_id = i.execution_id
);
