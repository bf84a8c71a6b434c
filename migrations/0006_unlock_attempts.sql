-- 0006: wrong unlock attempts, kept in the app state so that restarting the broker does not reset the pause
-- between guesses. One row at most; a right passphrase or PIN deletes it.

CREATE TABLE unlock_attempts (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    failures        INTEGER NOT NULL CHECK (failures >= 0),
    -- Unix time in ms before which no attempt is tried; NULL when attempts are not paused.
    paused_until_ms INTEGER
) STRICT;
