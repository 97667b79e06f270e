"""Reporting's domain: counting rules, history folding and report assembly; no I/O here."""
