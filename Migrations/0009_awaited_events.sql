-- Durable schema, version 9: the events an instance's code waited for at its last turn, by name,
-- kept by every turn commit for `durable why` (a wait records nothing in the history but its
-- timeout's timer).
ALTER TABLE instances ADD COLUMN awaited_events text[];
