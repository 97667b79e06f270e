-- The batch writer (adapters/timelines.py) finds teachers' current versions through the
-- primary key (teacher_id, valid_from), with valid_to = 'infinity' as a filter: the partial
-- index on current versions served nothing else (as-of reports scan by validity, a school's
-- teachers come through teacher_versions_school) and only cost writes, since every version
-- opened, i.e. nearly every teacher event, entered it.
DROP INDEX IF EXISTS teacher_versions_current;
