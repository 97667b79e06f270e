-- The outbox row carries its event's Kafka messages, rendered once at append (internal envelope
-- and public translations; framing in shared/eventstore/rendering.py), so the relay publishes
-- bytes without reading the events table. NULL for rows written before this migration: the
-- relay renders those from the event row, as it always did.
ALTER TABLE outbox ADD COLUMN messages bytea;

-- What the relay leader last did, for /healthz and `tmis status`: a relay that has a backlog
-- but has not published for a while is not healthy, whichever process it runs in.
CREATE TABLE relay_heartbeat (
    id            integer     PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    leader        text        NOT NULL,
    published_at  timestamptz,
    error         text,
    error_at      timestamptz,
    beat_at       timestamptz NOT NULL DEFAULT now()
);
