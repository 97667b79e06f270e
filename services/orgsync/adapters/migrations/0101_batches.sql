-- Every batch orgsync has seen announced or applied: written in the same transaction as the
-- batch's event, so it is exactly what the batch streams say (and can be rebuilt from them).

CREATE TABLE batches (
    batch_id          text        PRIMARY KEY,
    fingerprint       text        NOT NULL,
    effective_date    date        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('announced', 'applied')),
    operations        jsonb       NOT NULL,
    op_count          integer     NOT NULL,
    teachers_to_move  integer,
    announced_at      timestamptz,
    applied_at        timestamptz,
    announced_by      text,
    applied_by        text,
    plan_summary      jsonb
);
CREATE INDEX batches_pending ON batches (effective_date) WHERE status = 'announced';
