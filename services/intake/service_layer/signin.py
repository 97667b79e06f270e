"""Sign-in: an administrator by username and password, a teacher by ID number and credential.

Each attempt runs in one transaction that locks the attempts row of its sign-in name at its
client address, so parallel guesses are counted one after the other (services/intake/domain/
signin.py: the throttle and the lock, per name and address, and the per-address cap across
names). The address's row is read unlocked before the password is checked and locked only to
count a failure, so sign-ins from one address (a school behind one NAT) are not serialised; a
burst of parallel guesses may pass the cap by the few in flight. The outcome says whether to
issue a token, or why not: a wrong secret (and how long to wait before the next try), too soon
after a failure, locked, or the address locked. Locks and releases are logged and, when the
name is an account's, appended to its stream (SignInLocked / SignInUnlocked). An
unknown name is throttled the same way, with a dummy hash check so its answer takes as long as
a known one's.

Never logged: the password, the credential, a hash, the teacher's ID number (an unknown ID
number is keyed by an HMAC of it, and logged as "unknown").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain import accounts as domain
from services.intake.domain import signin as rules
from services.intake.domain.accounts import Account, Kind
from services.intake.service_layer.account_ports import AccountDeps, AccountStore
from shared.contracts.base import EventPayload
from shared.contracts.events_accounts import SignInLocked, SignInUnlocked
from shared.domain.idnumber import normalise
from shared.eventstore.store import Append, Metadata
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class SignInOutcome:
    account: Account | None = None  # set: issue a token
    wait_seconds: float = 0.0  # before the next attempt will be checked
    locked_until: datetime | None = None
    throttled: bool = False  # refused unchecked: too soon after a failure
    address_locked: bool = False  # refused unchecked: too many failures from this address

    @property
    def ok(self) -> bool:
        return self.account is not None


def normal_credential(raw: str) -> str:
    """Credentials are typed by people: case, spaces and dashes do not matter."""
    return "".join(ch for ch in raw.lower() if ch.isalnum())


async def sign_in(repo: AccountStore, deps: AccountDeps, username: str,
                  password: str, address: str) -> SignInOutcome:
    account = await repo.account_by_username(username)
    if account is not None and account.kind is Kind.TEACHER:
        account = None
    stored = await repo.password_hash(account.account_id) if account else None
    return await _attempt(repo, deps, (f"user:{username}", address), username, account, stored,
                          password)


async def teacher_sign_in(repo: AccountStore, deps: AccountDeps, id_number: str,
                          credential: str, secret: str, address: str) -> SignInOutcome:
    number = normalise(id_number)
    identity = (await repo.identities([number])).get(number)
    account = None
    if identity is not None and identity.active:
        account = await repo.teacher_account(identity.teacher_id)
    if account is not None:
        key, name = f"teacher:{account.teacher_id}", f"teacher {account.teacher_id}"
    else:
        digest = hmac.new(secret.encode(), number.encode(), hashlib.sha256).hexdigest()[:32]
        key, name = f"idn:{digest}", "unknown teacher"
    stored = await repo.password_hash(account.account_id) if account else None
    return await _attempt(repo, deps, (key, address), name, account, stored,
                          normal_credential(credential))


async def _attempt(repo: AccountStore, deps: AccountDeps, where: tuple[str, str], name: str,
                   account: Account | None, stored: str | None, secret: str) -> SignInOutcome:
    key, address = where
    now = deps.clock()
    from_address = await repo.address_attempts(address)
    if rules.address_gate(from_address, now) is rules.Gate.LOCKED:
        log.info("signin_refused_address_locked", name=name, address=address,
                 until=str(from_address.locked_until))
        until = from_address.locked_until
        return SignInOutcome(wait_seconds=(until - now).total_seconds() if until else 0.0,
                             locked_until=until, address_locked=True)
    state, gate = rules.before_attempt(await repo.attempts(key, address), now)
    if gate is rules.Gate.LOCKED:
        log.info("signin_refused_locked", name=name, address=address,
                 until=str(state.locked_until))
        return SignInOutcome(wait_seconds=rules.wait_seconds(state, now),
                             locked_until=state.locked_until)
    if gate is rules.Gate.THROTTLED:
        log.info("signin_throttled", name=name, address=address)
        return SignInOutcome(wait_seconds=rules.wait_seconds(state, now), throttled=True)
    if gate is rules.Gate.RELEASED:
        log.info("signin_unlocked", name=name, address=address)
        if account is not None:
            await _record(repo, account, SignInUnlocked(account_id=account.account_id))
    # verify even when there is nothing to verify against: the same time either way
    verified = await deps.hasher.verify(stored, secret)
    if verified and account is not None and account.active:
        await repo.save_attempts(key, address, rules.after_success())
        if stored is not None and deps.hasher.needs_rehash(stored):
            await repo.save_password_hash(account.account_id, await deps.hasher.hash(secret))
        log.info("signin", name=name, account_id=account.account_id, role=account.role)
        return SignInOutcome(account=account)
    # the lock runs from the moment the failure is known (verifying takes a while)
    failed_at = deps.clock()
    failure = rules.after_failure(state, failed_at, deps.policy)
    await repo.save_attempts(key, address, failure.state)
    await _count_address_failure(repo, deps, address, failed_at)
    log.info("signin_failed", name=name, address=address, failures=failure.state.failures)
    if failure.locked:
        until = failure.state.locked_until
        assert until is not None
        log.warning("signin_locked", name=name, address=address,
                    failures=failure.state.failures, until=until.isoformat())
        if account is not None:
            await _record(repo, account, SignInLocked(account_id=account.account_id,
                                                      failures=failure.state.failures,
                                                      until=until))
    return SignInOutcome(wait_seconds=failure.delay_seconds if not failure.locked
                         else deps.policy.lock_seconds, locked_until=failure.state.locked_until)


async def _count_address_failure(repo: AccountStore, deps: AccountDeps, address: str,
                                 now: datetime) -> None:
    before = await repo.address_attempts(address, lock=True)
    after = rules.after_address_failure(before, now, deps.policy)
    await repo.save_address_attempts(address, after)
    if after.locked_until is not None and before.locked_until != after.locked_until:
        log.warning("signin_address_locked", address=address, failures=after.failures,
                    until=after.locked_until.isoformat())


async def _record(repo: AccountStore, account: Account, event: EventPayload) -> None:
    """Append a sign-in event to the account's stream, on the account as it stands now (read
    again under lock: an administrator may have changed it since the unlocked read)."""
    current = await repo.account(account.account_id, lock=True)
    assert current is not None
    envs = await repo.append([Append(current.stream_id, current.version, [event])],
                             Metadata(actor="intake:signin"))
    await repo.save_account(domain.evolve(current, event, envs[-1].stream_version))
