"""Orgsync's domain: batches, plans, decisions; pure (no database, Kafka or HTTP)."""
