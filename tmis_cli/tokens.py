"""Tokens the CLI mints itself, from TMIS_JWT_SECRET: for a local stack (dev and test) only.

In production tokens come from signing in (`tmis account`, TMIS_TOKEN): a CLI that mints a
province-wide service token from the key on disk would let anyone who can run it skip the
account gate. The one exception is `tmis account create --bootstrap` (the first system
administrator while no account exists; holding the key is the proof).
"""

from __future__ import annotations

from typing import Any

from shared.auth import Role, mint_token
from shared.settings import Settings, load_settings
from tmis_cli import CliError


def dev_settings() -> Settings:
    """The settings, when they are a dev or test environment's; a CliError otherwise."""
    try:
        settings = load_settings()
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if settings.env not in ("dev", "test"):
        raise CliError("tokens are minted here for local use only (TMIS_ENV=dev or test); in "
                       f"TMIS_ENV={settings.env} sign in and pass the token in TMIS_TOKEN")
    return settings


def local_token(role: Role | str, **claims: Any) -> str:
    """A token minted from the local signing key, in dev and test only."""
    return mint_token(dev_settings(), role, **claims)
