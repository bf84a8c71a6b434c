-- 0003: database sources keep their last metadata snapshot (file sources keep theirs per file).

ALTER TABLE sources ADD COLUMN schema TEXT;
ALTER TABLE sources ADD COLUMN schema_at_ms INTEGER;
