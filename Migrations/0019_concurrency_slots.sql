-- Durable schema, version 19: concurrency limits per key as slots (docs/flow-control.md). A key's
-- row counts its running instances and waiting calls under its lock; a call takes a free slot and
-- creates its instance at once, or waits as a row of concurrency_waiting; the end of an instance
-- that holds a slot (however it ends) creates the oldest waiting call's instance in the same
-- transaction, through the trigger below. The decisions are those of ConcurrencySlots.swift.
CREATE TABLE concurrency_keys (
    key         text    PRIMARY KEY,
    slot_limit  integer NOT NULL,
    running     integer NOT NULL DEFAULT 0,
    waiting     integer NOT NULL DEFAULT 0,
    -- Calls so far: the next instance is <key>#<started> (or later, past ids in use).
    started     bigint  NOT NULL DEFAULT 0
);

CREATE TABLE concurrency_waiting (
    key           text        NOT NULL,
    number        bigint      NOT NULL,
    id            text        NOT NULL,
    name          text        NOT NULL,
    version       text        NOT NULL,
    execution_id  text        NOT NULL,
    input         text        NOT NULL,
    -- The instance's encoded executionStarted message.
    start         text        NOT NULL,
    queue         text        NOT NULL,
    priority      smallint    NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, number)
);

-- The key whose slot the instance holds while it runs; a call made again finds its instance.
ALTER TABLE instances ADD COLUMN concurrency_key text;
CREATE INDEX instances_concurrency_idx ON instances (concurrency_key, execution_id) WHERE concurrency_key IS NOT NULL;

-- A call: its instance id and whether it runs now (it created the instance) or waits.
CREATE FUNCTION durable_start_keyed(
    p_key text, p_limit integer, p_name text, p_version text, p_execution_id text, p_input text,
    p_start text, p_queue text, p_priority smallint,
    OUT started_id text, OUT runs boolean
) LANGUAGE plpgsql AS $$
DECLARE
    k concurrency_keys;
BEGIN
    -- Locks the key's row until the transaction ends: its calls and ends are decided one at a time.
    INSERT INTO concurrency_keys AS c (key, slot_limit) VALUES (p_key, p_limit)
    ON CONFLICT (key) DO UPDATE SET slot_limit = EXCLUDED.slot_limit
    RETURNING * INTO k;
    -- A call made again (its statement retried after a lost connection) finds what it did: the
    -- execution id is the call's own.
    SELECT i.id, true INTO started_id, runs FROM instances i WHERE i.concurrency_key = p_key AND i.execution_id = p_execution_id;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT w.id, false INTO started_id, runs FROM concurrency_waiting w WHERE w.key = p_key AND w.execution_id = p_execution_id;
    IF FOUND THEN
        RETURN;
    END IF;
    LOOP
        started_id := p_key || '#' || k.started;
        k.started := k.started + 1;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = started_id);
    END LOOP;
    runs := k.waiting = 0 AND k.running < p_limit;
    IF runs THEN
        INSERT INTO instances (id, name, version, execution_id, status, input, queue, priority, concurrency_key)
        VALUES (started_id, p_name, p_version, p_execution_id, 'pending', p_input, p_queue, p_priority, p_key);
        INSERT INTO messages (instance_id, execution_id, kind) VALUES (started_id, p_execution_id, p_start);
        -- The schema's work channel, as PostgresProvider.Configuration.channel names it.
        PERFORM pg_notify('durable_' || current_schema(), 'o');
        k.running := k.running + 1;
    ELSE
        INSERT INTO concurrency_waiting (key, number, id, name, version, execution_id, input, start, queue, priority)
        VALUES (p_key, k.started - 1, started_id, p_name, p_version, p_execution_id, p_input, p_start, p_queue, p_priority);
        k.waiting := k.waiting + 1;
    END IF;
    UPDATE concurrency_keys SET started = k.started, running = k.running, waiting = k.waiting WHERE key = p_key;
END
$$;

-- An instance that held a slot ended: the oldest waiting calls take the freed slot (more than one
-- when the limit was raised since), each created as a start is, announced on the schema's channel.
CREATE FUNCTION durable_release_slot() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k concurrency_keys;
    w concurrency_waiting;
BEGIN
    UPDATE concurrency_keys SET running = greatest(0, running - 1) WHERE key = OLD.concurrency_key RETURNING * INTO k;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    WHILE k.running < k.slot_limit AND k.waiting > 0 LOOP
        DELETE FROM concurrency_waiting
        WHERE key = k.key AND number = (SELECT min(x.number) FROM concurrency_waiting x WHERE x.key = k.key)
        RETURNING * INTO w;
        IF NOT FOUND THEN
            k.waiting := 0;
            EXIT;
        END IF;
        k.waiting := k.waiting - 1;
        -- An id taken meanwhile (an instance started by that id directly) gives its slot on.
        INSERT INTO instances (id, name, version, execution_id, status, input, queue, priority, concurrency_key)
        VALUES (w.id, w.name, w.version, w.execution_id, 'pending', w.input, w.queue, w.priority, w.key)
        ON CONFLICT (id) DO NOTHING;
        IF FOUND THEN
            INSERT INTO messages (instance_id, execution_id, kind) VALUES (w.id, w.execution_id, w.start);
            PERFORM pg_notify('durable_' || current_schema(), 'o');
            k.running := k.running + 1;
        END IF;
    END LOOP;
    UPDATE concurrency_keys SET running = k.running, waiting = k.waiting WHERE key = k.key;
    RETURN NULL;
END
$$;

CREATE TRIGGER instances_release_slot AFTER UPDATE OF status ON instances FOR EACH ROW
    WHEN (OLD.concurrency_key IS NOT NULL AND OLD.status IN ('pending', 'running') AND NEW.status NOT IN ('pending', 'running'))
    EXECUTE FUNCTION durable_release_slot();

-- An ended instance reset to run again counts, over the limit if need be.
CREATE FUNCTION durable_retake_slot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE concurrency_keys SET running = running + 1 WHERE key = NEW.concurrency_key;
    RETURN NULL;
END
$$;

CREATE TRIGGER instances_retake_slot AFTER UPDATE OF status ON instances FOR EACH ROW
    WHEN (NEW.concurrency_key IS NOT NULL AND OLD.status NOT IN ('pending', 'running') AND NEW.status IN ('pending', 'running'))
    EXECUTE FUNCTION durable_retake_slot();
