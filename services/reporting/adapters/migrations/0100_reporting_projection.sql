-- Reporting's projection: history tables with validity intervals in business time (occurred_at),
-- so every report can answer "as of D" exactly. A version is valid at instant T when
-- valid_from < T <= valid_to; the current version has valid_to = 'infinity'.
-- Everything here can be truncated and rebuilt from the Kafka log (`tmis replay reporting`).

-- Every school/teacher event applied, reduced to the facts the fold needs. The primary key is the
-- event's place in its source stream, so a second delivery is ignored; the rows also let a late
-- (out of business-time order) event rebuild its entity's timeline exactly.
CREATE TABLE entity_events (
    source          text        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL,
    entity_kind     text        NOT NULL CHECK (entity_kind IN ('school', 'teacher')),
    entity_id       text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    event_type      text        NOT NULL,
    sort_key        text        COLLATE "C" NOT NULL,  -- business-time order, see store.py
    fact            jsonb       NOT NULL,
    PRIMARY KEY (source, stream_id, stream_version)
);
CREATE INDEX entity_events_timeline ON entity_events (entity_kind, entity_id);

CREATE TABLE school_versions (
    school_code       text        NOT NULL,
    valid_from        timestamptz NOT NULL,
    valid_to          timestamptz NOT NULL DEFAULT 'infinity',
    registered        boolean     NOT NULL,
    name              text,
    stage             text,
    is_teaching_point boolean     NOT NULL DEFAULT false,
    county_code       text,
    city_code         text,
    reporting_line    text,
    is_rural          boolean     NOT NULL DEFAULT false,
    open              boolean     NOT NULL DEFAULT false,
    merged_into       text,
    head              text        COLLATE "C" NOT NULL,  -- sort key of the last event folded in
    PRIMARY KEY (school_code, valid_from)
);
CREATE INDEX school_versions_current ON school_versions (school_code) WHERE valid_to = 'infinity';

CREATE TABLE teacher_versions (
    teacher_id        text        NOT NULL,
    valid_from        timestamptz NOT NULL,
    valid_to          timestamptz NOT NULL DEFAULT 'infinity',
    school_code       text,
    in_post           boolean     NOT NULL DEFAULT false,
    is_fulltime       boolean     NOT NULL DEFAULT false,
    has_left          boolean     NOT NULL DEFAULT false,
    completeness      real        NOT NULL DEFAULT 0,
    record_version    integer     NOT NULL DEFAULT 0,
    reviewed_version  integer     NOT NULL DEFAULT 0,
    head              text        COLLATE "C" NOT NULL,
    PRIMARY KEY (teacher_id, valid_from)
);
CREATE INDEX teacher_versions_current ON teacher_versions (teacher_id) WHERE valid_to = 'infinity';
CREATE INDEX teacher_versions_school ON teacher_versions (school_code, valid_from);

CREATE TABLE baselines (
    baseline_id     text        PRIMARY KEY,
    kind            text        NOT NULL,
    year            integer     NOT NULL,
    chunks          integer     NOT NULL,
    imported_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text        NOT NULL
);

CREATE TABLE baseline_chunks (
    baseline_id     text        NOT NULL,
    chunk           integer     NOT NULL,
    PRIMARY KEY (baseline_id, chunk)
);

CREATE TABLE baseline_rows (
    baseline_id     text        NOT NULL,
    chunk           integer     NOT NULL,
    row_no          integer     NOT NULL,
    level           text        NOT NULL,
    code            text        NOT NULL,
    name            text,
    stage           text,
    schools         integer,
    teaching_points integer,
    staff           integer,
    fulltime        integer,
    is_total        boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (baseline_id, chunk, row_no)
);

CREATE TABLE signoffs (
    event_id        uuid        PRIMARY KEY,
    county_code     text        NOT NULL,
    city_code       text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text        NOT NULL,
    agrees          boolean     NOT NULL,
    schools_system  integer     NOT NULL,
    staff_system    integer     NOT NULL,
    schools_base    integer,
    staff_base      integer,
    explanation     text        NOT NULL DEFAULT ''
);
CREATE INDEX signoffs_county ON signoffs (county_code, occurred_at);

CREATE TABLE confirmation_events (
    event_id        uuid        PRIMARY KEY,
    school_code     text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('exported', 'returned')),
    format          text,
    signed          boolean,
    teacher_ids     text[]      NOT NULL
);
CREATE INDEX confirmation_events_school ON confirmation_events (school_code, occurred_at);

CREATE TABLE restructuring_batches (
    batch_id        text        PRIMARY KEY,
    announced_at    timestamptz,             -- the first announcement
    applied_at      timestamptz,
    effective_date  date,
    announced_ops   jsonb,                   -- of the latest announcement (by sort key)
    announced_head  text        COLLATE "C",
    applied_ops     jsonb
);
