"""Review's entrypoints: the HTTP API, the projection consumer, the replay program."""
