"""The account gate every service shares: is the account behind a token still allowed in?

Intake keeps the accounts (services/intake: accounts, sign-in, handover). A token issued at
sign-in names its account (`acct`) and the account's sign-in generation (`av`);
`shared.auth.authenticated` asks `runtime.extras["account_gate"]` on every request.

Two gates, one question:

- intake answers from its own accounts table, in the same database it disables the account
  in: a disabled account is refused at its very next request (services/intake/adapters).
- every other service answers from `<schema>.account_status`, a projection of
  tmis.intake.account.v1 kept by `AccountStatusProjection` (registered for every service by
  shared/runtime.py). It follows the topic like any projection: typically well under a second
  behind intake (the outbox relay is woken at commit), longer only if Kafka or the service lags.
  An account it has not heard of yet is refused (fail closed), so a brand-new account may see
  a 401 outside intake for that moment, never a disabled account a 200 after the catch-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from shared.contracts import events_accounts as ev
from shared.contracts.base import EventPayload, parse_payload
from shared.contracts.envelope import Envelope
from shared.db import checked_schema
from shared.errors import PoisonEvent

ACCOUNT_TOPIC = "tmis.intake.account.v1"
ACCOUNT_STATUS_MIGRATIONS = Path(__file__).parent / "accounts_migrations"


@dataclass(frozen=True)
class StatusChange:
    """What an account event does to the gate: `active` None keeps the current state."""

    account_id: str
    active: bool | None
    version: int


def status_change(payload: EventPayload) -> StatusChange | None:
    """The gate's reading of an account event (None: the event does not touch the gate)."""
    match payload:
        case ev.AccountCreated() | ev.AccountEnabled() | ev.AccountRoleGranted() \
                | ev.TeacherCredentialIssued():
            return StatusChange(payload.account_id, True, payload.token_version)
        case ev.AccountDisabled() | ev.AdministratorHandedOver():
            return StatusChange(payload.account_id, False, payload.token_version)
        case ev.AccountPasswordReset():
            return StatusChange(payload.account_id, None, payload.token_version)
    return None


async def record_status(conn: asyncpg.Connection, schema: str, change: StatusChange) -> None:
    """Move the account to the change's generation; never back to an older one."""
    await conn.execute(
        f"""INSERT INTO {checked_schema(schema)}.account_status (account_id, active, version)
            VALUES ($1, COALESCE($2::boolean, false), $3)
            ON CONFLICT (account_id) DO UPDATE
              SET active = COALESCE($2::boolean, account_status.active),
                  version = EXCLUDED.version, updated_at = now()
              WHERE account_status.version < EXCLUDED.version""",
        change.account_id, change.active, change.version)


class AccountStatusProjection:
    """Projection: `<schema>.account_status` from tmis.intake.account.v1."""

    name: str = "account_status"
    topics: tuple[str, ...] = (ACCOUNT_TOPIC,)

    def __init__(self, schema: str) -> None:
        self.schema = checked_schema(schema)

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        try:
            payload = parse_payload(envelope)
        except LookupError:
            return  # an account event type newer than this code: not one the gate needs
        except ValueError as exc:
            raise PoisonEvent(f"unreadable {envelope.event_type}: {exc}") from exc
        change = status_change(payload)
        if change is not None:
            await record_status(conn, self.schema, change)


class ProjectedAccountGate:
    """The gate of a service that follows the account topic (all but intake)."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)

    async def is_active(self, account_id: str, version: int) -> bool:
        ok = await self.pool.fetchval(
            f"SELECT active AND version = $2 FROM {self.schema}.account_status "
            "WHERE account_id = $1", account_id, version)
        return bool(ok)
