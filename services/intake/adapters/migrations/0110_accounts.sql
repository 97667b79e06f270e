-- Accounts (services/intake/domain/accounts.py), kept in the same transaction as their events
-- on the account-<account_id> streams. PRIVATE: the password hashes; intake's token gate reads
-- `active` and `token_version` here, so a disabled account is refused at its next request.
CREATE TABLE accounts (
    account_id    uuid        PRIMARY KEY,
    username      text        UNIQUE,            -- null for teachers (they sign in by ID number)
    kind          text        NOT NULL,          -- system | info | query | teacher
    level         text        NOT NULL,          -- province | city | county | school
    school_code   text,
    county_code   text,
    city_code     text,
    display_name  text        NOT NULL DEFAULT '',
    teacher_id    uuid        UNIQUE,            -- teacher accounts only
    password_hash text        NOT NULL,          -- argon2id; never logged, never in an event
    active        boolean     NOT NULL,
    token_version integer     NOT NULL,
    version       integer     NOT NULL,          -- the account stream's version
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_by_city ON accounts (city_code, level);
CREATE INDEX accounts_by_county ON accounts (county_code, level);
CREATE INDEX accounts_by_school ON accounts (school_code, level);

-- Failed sign-ins in a row, when the next attempt will be checked, and the end of a lock,
-- per sign-in name ("user:<username>", "teacher:<teacher_id>", or "idn:<HMAC of an unknown ID
-- number>").
CREATE TABLE signin_attempts (
    key             text        PRIMARY KEY,
    failures        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    locked_until    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The record versions each teacher confirmed (the events say the same; this answers "has the
-- teacher confirmed the current version?" without reading streams).
CREATE TABLE teacher_confirmations (
    teacher_id     uuid        NOT NULL,
    record_version integer     NOT NULL,
    account_id     uuid        NOT NULL,
    confirmed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (teacher_id, record_version)
);

-- Teachers' flags with the full comment (the event carries it with ID-number-like text masked).
CREATE TABLE teacher_flags (
    flag_id        uuid        PRIMARY KEY,
    teacher_id     uuid        NOT NULL,
    school_code    text        NOT NULL,
    account_id     uuid        NOT NULL,
    field          text        NOT NULL,
    comment        text        NOT NULL,
    record_version integer     NOT NULL,
    created_at     timestamptz NOT NULL,
    resolved_at    timestamptz,
    resolution     text        NOT NULL DEFAULT ''
);
CREATE INDEX teacher_flags_open ON teacher_flags (school_code, created_at) WHERE resolved_at IS NULL;
CREATE INDEX teacher_flags_by_teacher ON teacher_flags (teacher_id);
