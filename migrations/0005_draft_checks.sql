-- 0005: a draft's dry run and the drafts set aside for it (repair attempts), as JSON, so History shows them.

ALTER TABLE query_drafts ADD COLUMN check_json TEXT;
ALTER TABLE query_drafts ADD COLUMN attempts_json TEXT;
