-- Durable schema, version 11: topic subscriptions, one row per (pattern, instance, execution),
-- written by the turn that subscribes. A publication looks its topic's candidate patterns up in the
-- primary key (O(matching subscriptions), never a scan); rows of ended executions deliver nothing
-- and are dropped when a publication meets them, or with their instance.
CREATE TABLE subscriptions (
    pattern text NOT NULL,
    instance_id text NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    execution_id text NOT NULL,
    PRIMARY KEY (pattern, instance_id, execution_id)
);
CREATE INDEX subscriptions_instance_idx ON subscriptions (instance_id);
