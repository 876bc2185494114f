-- Durable schema, version 17: rate limits the fleet shares. Each limit is one row; its bucket is
-- one timestamp (the generic cell rate algorithm): an admission moves theoretical_arrival on by one
-- emission interval (interval_ms / limit_count) and gets the slot at which it may start. A task
-- handed back until its slot is marked rate_admitted, so its next claim starts it without another
-- admission; any other hand-back clears the mark.
CREATE TABLE rate_limits (
    name                text        PRIMARY KEY,
    limit_count         integer     NOT NULL CHECK (limit_count >= 1),
    interval_ms         bigint      NOT NULL CHECK (interval_ms >= 1),
    burst               integer     NOT NULL CHECK (burst >= 1),
    theoretical_arrival timestamptz NOT NULL DEFAULT '-infinity'
);
ALTER TABLE activity_tasks ADD COLUMN rate_admitted boolean NOT NULL DEFAULT false;
