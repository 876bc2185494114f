-- Durable schema, version 15: sessions. A session's activities go to its node's session queue,
-- '@' and the node's id; when that node stops or goes silent, any node takes them over. This index
-- holds session tasks only, in claim order, so finding those of dead nodes is a walk of the few
-- that are visible, not a scan of all tasks.
CREATE INDEX activity_tasks_session_idx ON activity_tasks (visible_at, seq) WHERE queue LIKE '@%';
