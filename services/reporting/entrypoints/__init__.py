"""Reporting's entry points: HTTP API, dashboard, Kafka projection, replay."""
