"""Where the services and the broker answer, and the token the simulator presents.

Each service's URL comes from TMIS_<SERVICE>_URL, else from the state file `tmis up` wrote
(`$TMIS_HOME/stack.json`, else `<repo>/.tmis/stack.json`; deploy/local/state.py describes it).
The broker likewise: TMIS_KAFKA_BOOTSTRAP, else the state file. The simulator is a TMIS program,
so it signs its own service-account token with TMIS_JWT_SECRET (shared.auth.mint_token).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from deploy.local.stack import default_state_dir
from deploy.local.state import load
from shared.auth import Role, mint_token
from shared.settings import Settings

SERVICES = ("intake", "review", "orgsync", "reporting")
TOKEN_TTL_SECONDS = 48 * 3600  # a full-scale run takes hours on a small machine
SUBJECT = "simulator"


class EndpointsUnknown(RuntimeError):
    """A service or the broker cannot be located."""


@dataclass(frozen=True)
class Endpoints:
    urls: Mapping[str, str]  # service -> base URL
    kafka_bootstrap: str

    def url(self, service: str) -> str:
        return self.urls[service]


def locate(environ: Mapping[str, str] | None = None) -> Endpoints:
    """The four services' URLs and the broker; EndpointsUnknown naming what is missing."""
    env = os.environ if environ is None else environ
    state = load(default_state_dir(env))
    urls: dict[str, str] = {}
    missing: list[str] = []
    for name in SERVICES:
        url = env.get(f"TMIS_{name.upper()}_URL")
        if not url and name in state.services:
            url = state.services[name].url
        if url:
            urls[name] = url.rstrip("/")
        else:
            missing.append(f"TMIS_{name.upper()}_URL")
    bootstrap = env.get("TMIS_KAFKA_BOOTSTRAP") or (state.kafka.bootstrap if state.kafka
                                                     else None)
    if not bootstrap:
        missing.append("TMIS_KAFKA_BOOTSTRAP")
    if missing:
        raise EndpointsUnknown(
            f"cannot find {', '.join(missing)}: start the stack with `tmis up` (it writes "
            f"{default_state_dir(env) / 'stack.json'}) or set the variables")
    assert bootstrap is not None
    return Endpoints(urls, bootstrap)


def service_token(settings: Settings | None = None) -> str:
    """A province-wide service-account token, minted locally."""
    return mint_token(settings or Settings(), Role.SERVICE, subject=SUBJECT,
                      ttl_seconds=TOKEN_TTL_SECONDS)

