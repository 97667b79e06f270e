-- Whose bureau reviews a school's records after the school (its reporting line: county, city,
-- province, university). Rows written before this read 'county' until `tmis replay review`
-- rebuilds them from the school events, which carry the line.
ALTER TABLE schools ADD COLUMN reporting_line text NOT NULL DEFAULT 'county';
