"""Intake's adapters: PostgreSQL write-side tables and private stores, CSV/XLSX files."""
