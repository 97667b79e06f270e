-- Every service's copy of who may still use a token (shared/accounts.py): one row per account,
-- kept from tmis.intake.account.v1. `version` is the account's sign-in generation (token claim
-- `av`); a row is only ever moved to a higher generation, so a redelivered or late event never
-- brings an old state back. Applied with search_path = the service's schema.
CREATE TABLE IF NOT EXISTS account_status (
    account_id text        PRIMARY KEY,
    active     boolean     NOT NULL,
    version    integer     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
