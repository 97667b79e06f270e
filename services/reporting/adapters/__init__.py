"""Reporting's adapters: PostgreSQL projection store and queries, file readers and writers."""
