-- What checking each sampled record found (SpotCheckResultRecorded): the newest result per
-- sample and teacher (position: review's event store position). Error rates per county and
-- school are read from here.
CREATE TABLE spot_check_results (
    sample_id      text        NOT NULL,
    teacher_id     text        NOT NULL,
    county_code    text        NOT NULL,
    school_code    text        NOT NULL,
    record_version integer     NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('correct', 'error_found')),
    fields         jsonb       NOT NULL DEFAULT '[]',
    note           text        NOT NULL DEFAULT '',
    actor          text        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    position       bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    PRIMARY KEY (sample_id, teacher_id)
);
CREATE INDEX spot_check_results_county ON spot_check_results (county_code, school_code);
