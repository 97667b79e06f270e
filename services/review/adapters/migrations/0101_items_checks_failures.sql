-- items.checks holds the failed checks only: a passed check carries nothing but its name, and
-- the catalogue of checks run (services.review.domain.checks.catalogue) completes the list when
-- a row is read. Rows written before this keep their full list, which reads back the same.
COMMENT ON COLUMN items.checks IS
    'failed core-information checks (passed ones are implied by the check catalogue)';
