"""Worked examples of programs outside TMIS that use it (subscribers of the public events)."""
