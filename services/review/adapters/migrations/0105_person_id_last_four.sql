-- Records of a person are matched by the last four of the masked ID number: events written
-- after the mask stopped showing the area code carry **************123X, older ones
-- 620102********123X; both keep their last four here, so old and new records still match.
UPDATE items SET person_id_masked = right(person_id_masked, 4)
WHERE person_id_masked IS NOT NULL AND length(person_id_masked) > 4;
