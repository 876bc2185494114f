-- Durable schema, version 7: pausing instances.
--
-- A paused instance is held like a lease nobody owns: lock_owner NULL, locked_until at the pause's
-- deadline (or far in the future), so the ready index and every claim path skip it without a new
-- predicate, and the deadline is the instance's next due time. pause holds who paused it, why, when
-- and until when (JSON), for listings, status and `durable why`; the first turn after the pause
-- clears it.
ALTER TABLE instances ADD COLUMN pause text;

-- A pause with a deadline enqueues its resume as a message visible then, execution_id NULL and
-- timer_operation -1 (no operation of an orchestration has a negative id), which an earlier resume
-- deletes.
