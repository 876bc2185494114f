-- Durable schema, version 10: queries (a client's request and a node's answer; nothing of it is in
-- an instance's history), and the node that committed each instance's last turn, which keeps the
-- instance in memory if any node does and so answers its queries first.
CREATE TABLE queries (
    id text PRIMARY KEY,
    instance_id text NOT NULL,
    name text NOT NULL,
    input text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    claimed_by text,
    claimed_until timestamptz,
    answer text
);
-- The sweep for queries nobody answered: oldest first, answered ones out of the index.
CREATE INDEX queries_unanswered_idx ON queries (created_at) WHERE answer IS NULL;
-- Expired queries are deleted by later submissions, a range of this index at a time.
CREATE INDEX queries_expires_idx ON queries (expires_at);
ALTER TABLE instances ADD COLUMN turn_node text;
