-- Intake's write side, kept in the same transaction as its appends, so validation and region
-- checks never replay streams. Applied with search_path = intake's schema.

-- The school registry as it stands (stream school-<code>; version = stream version).
CREATE TABLE schools (
    code              text        PRIMARY KEY,
    name              text        NOT NULL,
    stage             text        NOT NULL,
    is_teaching_point boolean     NOT NULL,
    county_code       text        NOT NULL,
    city_code         text        NOT NULL,
    reporting_line    text        NOT NULL,
    is_rural          boolean     NOT NULL,
    is_open           boolean     NOT NULL,
    merged_into       text,
    version           integer     NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schools_county ON schools (county_code, code);
CREATE INDEX schools_city ON schools (city_code, code);

-- Teachers as they stand (stream teacher-<teacher_id>). `record` is the public (masked)
-- record, as the last event carried it.
CREATE TABLE teachers (
    teacher_id   uuid        PRIMARY KEY,
    school_code  text        NOT NULL,
    in_post      boolean     NOT NULL,
    has_left     boolean     NOT NULL DEFAULT false,
    record       jsonb       NOT NULL,
    completeness real        NOT NULL,
    version      integer     NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teachers_active_by_school ON teachers (school_code, teacher_id) WHERE NOT has_left;

-- PRIVATE: the national ID number of each teacher. Never copied into an event.
-- One active post per person in the province: the partial unique index is the rule, and it
-- holds under any concurrency. A departure deactivates the row; a return to post reactivates.
CREATE TABLE identities (
    teacher_id  uuid        PRIMARY KEY,
    id_number   text        NOT NULL,
    school_code text        NOT NULL,
    active      boolean     NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX identities_one_active_post ON identities (id_number) WHERE active;
CREATE INDEX identities_by_number ON identities (id_number);

-- Answers to requests that carried an Idempotency-Key, per principal.
CREATE TABLE idempotency_keys (
    subject      text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status_code  integer,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, key)
);

-- Proof documents, content-addressed.
CREATE TABLE documents (
    sha256      text        PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type  text        NOT NULL,
    size_bytes  integer     NOT NULL,
    filename    text,
    content     bytea       NOT NULL,
    uploaded_by text        NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now()
);

-- Which schools' events referenced a document: who may read it.
CREATE TABLE document_uses (
    sha256      text NOT NULL REFERENCES documents (sha256),
    school_code text NOT NULL,
    teacher_id  uuid NOT NULL,
    PRIMARY KEY (sha256, school_code, teacher_id)
);
