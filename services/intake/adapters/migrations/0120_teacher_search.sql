-- Finding a teacher by the start of a name (GET /v1/teachers/search): a range scan in code-point
-- order, so "王" finds every name that begins with it without reading the whole table.
CREATE INDEX teachers_by_name ON teachers (((record->>'name') COLLATE "C"), teacher_id);
