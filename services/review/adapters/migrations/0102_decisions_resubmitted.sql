-- RecordResubmitted (the school sends a rejected version back unchanged, with a note) is kept
-- with the decisions: it ends the rejections before it. `reason` holds the school's note.
ALTER TABLE decisions ADD COLUMN resubmitted boolean NOT NULL DEFAULT false;
