"""Review's domain: the derived review state, the core-information checks, the decision rules
and spot-check sampling. Pure: no database, no Kafka, no HTTP."""
