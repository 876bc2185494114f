-- Durable schema, version 12: updates, one row per update id (deduplicating repeated sends), with
-- the outcome the commit of the turn that ends it writes; the client reads it there.
CREATE TABLE updates (
    id text PRIMARY KEY,
    instance_id text NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    outcome text,
    completed_at timestamptz
);
CREATE INDEX updates_instance_idx ON updates (instance_id);
