"""The simulator's pure half: parse a stage-table profile and plan a province from it, seeded.

No I/O here except reading a profile CSV (and the shared reference data): the plan is a value a
driver replays through the public APIs, and `expected_outcome` says what the reports must show.
"""
