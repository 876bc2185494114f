-- Durable schema, version 2: the node registry.

-- One row per node id. incarnation changes at every process start; a lease's owner is
-- "<id>#<incarnation>", so leases of an earlier incarnation, of a stopped node or of a node whose
-- heartbeat is stale can be taken over without waiting for them to expire.
CREATE TABLE nodes (
    id             text        PRIMARY KEY,
    incarnation    text        NOT NULL,
    host           text        NOT NULL,
    pid            integer     NOT NULL,
    build_version  text        NOT NULL,
    capabilities   text        NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    heartbeat_at   timestamptz NOT NULL DEFAULT now(),
    stopped_at     timestamptz
);

CREATE INDEX instances_lock_owner_idx ON instances (lock_owner) WHERE lock_owner IS NOT NULL;
CREATE INDEX activity_tasks_lock_owner_idx ON activity_tasks (lock_owner) WHERE lock_owner IS NOT NULL;

-- What an instance waits for when no node that claimed it had its handler, e.g. "Order 2.0.0".
ALTER TABLE instances ADD COLUMN waiting_for text;
