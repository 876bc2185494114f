-- Durable schema, version 20: autovacuum for the tables that work flows through. A lease moves a
-- task's and an instance's place in the ready indexes, and a finished task or consumed message is
-- deleted, so the ready indexes fill with dead entries that every claim steps over until VACUUM
-- removes them. After a minute of fanout5 (3,500 activities/s) an activity claim read ~600 index
-- pages to find 37 tasks, and its next-due lookup ~475 more: 14 ms instead of ~1 ms. The default
-- (vacuum once a fifth of the table has died, throttled) waits far too long for tables whose live
-- rows are few and whose dead ones pile up by the thousand each second. docs/postgres.md says more,
-- and why autovacuum_naptime matters too.
ALTER TABLE activity_tasks SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE messages SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0);
-- Instances stay (finished ones until purged), so their table may be large: a small fraction, at the
-- default pace.
ALTER TABLE instances SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 2000);
