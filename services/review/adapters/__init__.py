"""Review's adapters: the projection store (SQL), the read queries, the unit of work, and the
log readers used to rebuild the projection."""
