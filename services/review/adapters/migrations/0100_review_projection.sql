-- Review's projection. Everything here is derived and can be truncated and rebuilt from the log
-- (`tmis replay review`): intake's school and teacher topics plus review's own event store.
--
-- Facts first, state second: `teacher_facts` and `decisions` hold every event that matters, keyed
-- by its place in its source stream; `items` is recomputed from a teacher's facts after each
-- change. Because the state is a function of the set of facts, not of their arrival order, a
-- redelivered, late or replayed event cannot corrupt it.

-- The school registry as review needs it: where a school sits (for region checks and queues).
CREATE TABLE schools (
    school_code       text        PRIMARY KEY,
    name              text        NOT NULL,
    stage             text        NOT NULL,
    is_teaching_point boolean     NOT NULL,
    county_code       text        NOT NULL,
    city_code         text        NOT NULL,
    open              boolean     NOT NULL,
    merged_into       text,
    -- the newest stream version applied, per source store: an older event is a no-op
    versions          jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX schools_county ON schools (county_code);
CREATE INDEX schools_city ON schools (city_code);

-- Every teacher event from intake, as delivered (payload kept whole: the record is what the
-- reviewer reads and what the diff compares).
CREATE TABLE teacher_facts (
    teacher_id      text        NOT NULL,
    source          text        NOT NULL,
    stream_version  integer     NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    payload         jsonb       NOT NULL,
    PRIMARY KEY (teacher_id, source, stream_version)
);

-- Review's own decisions (RecordApproved / RecordRejected), written in the same transaction as
-- they are appended to review's event store.
CREATE TABLE decisions (
    event_id        uuid        PRIMARY KEY,
    position        bigint      NOT NULL,
    teacher_id      text        NOT NULL,
    record_version  integer     NOT NULL,
    level           text        NOT NULL CHECK (level IN ('school', 'county')),
    approved        boolean     NOT NULL,
    reason          text        NOT NULL DEFAULT '',
    actor           text        NOT NULL,
    decided_at      timestamptz NOT NULL
);
CREATE INDEX decisions_teacher ON decisions (teacher_id, record_version);

-- One row per teacher: the derived review state the queues and the reviewer's page read.
CREATE TABLE items (
    teacher_id           text        PRIMARY KEY,
    school_code          text        NOT NULL,
    active               boolean     NOT NULL,
    record               jsonb       NOT NULL,
    record_version       integer     NOT NULL,
    stream_version       integer     NOT NULL,
    status               text        NOT NULL CHECK (status IN
                             ('submitted', 'school_approved', 'county_approved', 'rejected')),
    kind                 text        NOT NULL CHECK (kind IN
                             ('new', 'update', 'transfer', 'return_to_post')),
    rejected_level       text,
    reject_reason        text,
    proof                jsonb,
    from_school_code     text,
    diff_base_version    integer,
    diff                 jsonb       NOT NULL,
    checks               jsonb       NOT NULL,
    hard_failures        integer     NOT NULL,
    warnings             integer     NOT NULL,
    submitted_at         timestamptz NOT NULL,
    school_approved_at   timestamptz,
    county_approved_at   timestamptz,
    source_event_id      uuid        NOT NULL,
    -- the person key of the "same person active elsewhere" check
    person_name          text,
    person_birth_date    text,
    person_id_masked     text
);
CREATE INDEX items_school_queue ON items (school_code, status, submitted_at) WHERE active;
CREATE INDEX items_status_queue ON items (status, submitted_at) WHERE active;
CREATE INDEX items_person ON items (person_name, person_birth_date, person_id_masked)
    WHERE active;

-- Spot-check samples drawn by counties (SpotCheckSampleDrawn).
CREATE TABLE spot_checks (
    sample_id          text        PRIMARY KEY,
    county_code        text        NOT NULL,
    seed               bigint      NOT NULL,
    requested_size     integer,
    requested_percent  double precision,
    population         jsonb       NOT NULL,
    sample             jsonb       NOT NULL,
    actor              text        NOT NULL,
    drawn_at           timestamptz NOT NULL,
    event_id           uuid        NOT NULL
);
CREATE INDEX spot_checks_county ON spot_checks (county_code, drawn_at);

-- Not part of the projection: whether a rebuild is running (decisions wait until it is done).
CREATE TABLE projection_state (
    id                  integer     PRIMARY KEY CHECK (id = 1),
    rebuilding          boolean     NOT NULL DEFAULT false,
    rebuild_started_at  timestamptz,
    rebuild_finished_at timestamptz,
    events_replayed     bigint
);
INSERT INTO projection_state (id) VALUES (1);
