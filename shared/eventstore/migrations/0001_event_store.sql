-- The append-only event store, its outbox, and the consumer's processed-event record.
-- Applied with search_path set to the owning service's schema.

CREATE TABLE events (
    position        bigserial   PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version >= 1),
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor           text        NOT NULL,
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    payload         jsonb       NOT NULL,
    CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
);

-- Events waiting for the relay. A row is deleted once Kafka acknowledged the message, so the
-- relay never depends on a high-water mark of positions (a transaction that commits late with
-- a lower position is still found: it is simply still in this table).
CREATE TABLE outbox (
    position bigint PRIMARY KEY REFERENCES events (position)
);

-- Events a consumer of this schema has applied, recorded in the same transaction as the
-- projection change, so a redelivered message is recognised and skipped.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
