"""Intake's handlers: load state through the Registry port, make one domain decision, append."""
