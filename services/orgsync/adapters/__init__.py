"""Orgsync's adapters: the SQL of its registry view and of its batch table, and migrations."""
