-- Orgsync's view of the school registry, kept by the registry projection from intake's school
-- and teacher events (and brought forward at once by each batch orgsync applies, so the next
-- plan sees it before intake has followed). stream_version is the version of the intake stream
-- last applied: an event at or below it is old news and is ignored.

CREATE TABLE registry_schools (
    code              text        PRIMARY KEY,
    name              text        NOT NULL,
    stage             text        NOT NULL,
    is_teaching_point boolean     NOT NULL DEFAULT false,
    county_code       text        NOT NULL,
    city_code         text        NOT NULL,
    reporting_line    text        NOT NULL,
    is_rural          boolean     NOT NULL DEFAULT false,
    open              boolean     NOT NULL DEFAULT true,
    merged_into       text,
    stream_version    integer     NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_schools_county ON registry_schools (county_code, stage);

-- Teachers only as far as orgsync needs them: which school, in post or not, left or not.
CREATE TABLE registry_teachers (
    teacher_id      text        PRIMARY KEY,
    school_code     text        NOT NULL,
    in_post         boolean     NOT NULL,
    active          boolean     NOT NULL DEFAULT true,  -- false once the teacher left
    stream_version  integer     NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_teachers_school ON registry_teachers (school_code) WHERE active;
