"""Reporting's settings: the shared TMIS_* settings; nothing reporting-specific yet beyond
the constants its domain states (N of the findings, rows per baseline event)."""

from __future__ import annotations

from shared.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
