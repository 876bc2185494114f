-- Durable schema, version 1. Applied by the migrations runner with search_path set to the target
-- schema (default "durable"), inside one transaction, under an advisory lock.

-- One row per orchestration instance. The lease (lock_owner, lock_epoch, locked_until) fences every
-- write made for a claimed turn: lock_epoch grows with every claim and is never reset.
CREATE TABLE instances (
    id                text        PRIMARY KEY,
    name              text        NOT NULL,
    version           text        NOT NULL DEFAULT '',
    execution_id      text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    input             text        NOT NULL,
    output            text,
    failure           text,
    custom_status     text,
    parent_instance   text,
    parent_execution  text,
    parent_operation  integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz,
    lock_owner        text,
    lock_epoch        bigint      NOT NULL DEFAULT 0,
    locked_until      timestamptz,
    deliveries        integer     NOT NULL DEFAULT 0
);

CREATE INDEX instances_status_name_idx ON instances (status, name, id);
CREATE INDEX instances_name_idx ON instances (name, id);
CREATE INDEX instances_locked_until_idx ON instances (locked_until) WHERE locked_until IS NOT NULL;
CREATE INDEX instances_completed_at_idx ON instances (completed_at) WHERE completed_at IS NOT NULL;

-- The inbox: messages waiting for an instance's next turn. Only pending work lives here (consumed
-- and finished instances' messages are deleted), so finding ready work costs the same however many
-- finished instances exist. execution_id NULL means "whatever execution is current".
CREATE TABLE messages (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id      text        NOT NULL,
    execution_id     text,
    kind             text        NOT NULL,
    visible_at       timestamptz NOT NULL DEFAULT now(),
    timer_operation  integer
);

CREATE INDEX messages_visible_at_idx ON messages (visible_at, instance_id);
CREATE INDEX messages_instance_idx ON messages (instance_id, id);

-- The history of each instance's current execution. The primary key is the backstop against
-- duplicate appends.
CREATE TABLE history (
    instance_id   text    NOT NULL,
    execution_id  text    NOT NULL,
    seq           integer NOT NULL,
    event         text    NOT NULL,
    PRIMARY KEY (instance_id, execution_id, seq)
);

-- Activity tasks. visible_at is when the task can next be claimed: creation, the end of a retry
-- backoff, or the end of the current lease.
CREATE TABLE activity_tasks (
    id                text        PRIMARY KEY,
    seq               bigint      GENERATED ALWAYS AS IDENTITY,
    instance_id       text        NOT NULL,
    execution_id      text        NOT NULL,
    operation_id      integer     NOT NULL,
    name              text        NOT NULL,
    request           text        NOT NULL,
    attempt           integer     NOT NULL DEFAULT 1,
    deliveries        integer     NOT NULL DEFAULT 0,
    visible_at        timestamptz NOT NULL DEFAULT now(),
    lock_owner        text,
    lock_epoch        bigint      NOT NULL DEFAULT 0,
    locked_until      timestamptz,
    cancel_requested  boolean     NOT NULL DEFAULT false
);

CREATE INDEX activity_tasks_ready_idx ON activity_tasks (visible_at, seq);
CREATE INDEX activity_tasks_instance_idx ON activity_tasks (instance_id);
