-- The outbox row is written by the same statement (or COPY, in the same transaction) as its
-- event, and events are never deleted, so the foreign key to events proved nothing the append
-- does not already guarantee; its per-row check cost a lookup and a FOR KEY SHARE lock (a
-- rewritten event tuple, more WAL) for every appended event (profiled in bench/, issue 14).
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_position_fkey;
