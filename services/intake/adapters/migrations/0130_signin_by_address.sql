-- Sign-in throttling keyed by name AND client address (services/intake/domain/signin.py):
-- failures from one address no longer lock the name for someone signing in from another.
-- The per-name rows of before are dropped: they hold at most a lock's worth (15 minutes) of
-- failures, and none of them says from where.
DELETE FROM signin_attempts;
ALTER TABLE signin_attempts RENAME COLUMN key TO name;
ALTER TABLE signin_attempts ADD COLUMN address text NOT NULL;
ALTER TABLE signin_attempts DROP CONSTRAINT signin_attempts_pkey;
ALTER TABLE signin_attempts ADD PRIMARY KEY (name, address);

-- Per client address, across names: failures within the current window, and a lock.
CREATE TABLE signin_address_attempts (
    address           text        PRIMARY KEY,
    failures          integer     NOT NULL DEFAULT 0,
    window_started_at timestamptz,
    locked_until      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
