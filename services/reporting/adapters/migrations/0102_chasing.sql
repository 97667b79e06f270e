-- Chasing the laggards (催报): collection rounds with their deadlines and the reminders sent to
-- lagging units, folded from reporting's own CollectionRoundOpened / LaggardNoticeSent /
-- LaggardNoticeRead events (part of the projection: a replay rebuilds them).
CREATE TABLE IF NOT EXISTS rounds (
    round_id      text PRIMARY KEY,
    title         text NOT NULL,
    entry_due     date NOT NULL,
    report_due    date NOT NULL,
    entry_target  double precision NOT NULL,
    review_target double precision NOT NULL,
    opened_at     timestamptz NOT NULL,
    opened_by     text NOT NULL
);

CREATE TABLE IF NOT EXISTS notices (
    notice_id   text PRIMARY KEY,
    round_id    text,
    level       text NOT NULL,
    unit_code   text NOT NULL,
    unit_name   text NOT NULL,
    city_code   text,
    county_code text,
    message     text NOT NULL,
    staff_rate  double precision,
    review_rate double precision,
    sent_at     timestamptz NOT NULL,
    sent_by     text NOT NULL,
    read_at     timestamptz,
    read_by     text
);

-- A unit's notices (its administrators' banner), newest first.
CREATE INDEX IF NOT EXISTS notices_by_unit ON notices (level, unit_code, sent_at DESC);
