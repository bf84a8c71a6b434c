-- 0004: approval tokens are bound to the profile that minted them, beside the draft, query, source and session.

ALTER TABLE approval_tokens ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';
