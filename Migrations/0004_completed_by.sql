-- Durable schema, version 4: which node committed an instance's last turn, for operators.
ALTER TABLE instances ADD COLUMN completed_by text;
