-- Durable schema, version 3: claims that found no handler are counted apart from deliveries, so
-- that waiting for a handler (during a rolling upgrade) never counts towards poisoning.
ALTER TABLE instances ADD COLUMN handler_misses integer NOT NULL DEFAULT 0;
ALTER TABLE activity_tasks ADD COLUMN handler_misses integer NOT NULL DEFAULT 0;
