"""Intake's entrypoints: the HTTP API (FastAPI) and the restructuring follower (Kafka)."""
