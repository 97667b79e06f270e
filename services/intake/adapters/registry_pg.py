"""The Registry port over PostgreSQL: one connection, inside the caller's transaction.

Batch operations take arrays (unnest) so a bulk-import batch of a thousand rows is a handful
of statements. Claiming an identity uses INSERT .. ON CONFLICT (id_number) WHERE active DO
NOTHING: a concurrent claim of the same person waits for the other transaction and then loses
cleanly, without aborting ours, so we can still say who holds the person.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from services.intake.domain.documents import Document
from services.intake.domain.school import School
from services.intake.domain.search import TeacherQuery
from services.intake.domain.teacher import Teacher
from services.intake.service_layer.ports import Identity, Lock, StoredResponse, TeacherHit
from shared.auth import Region
from shared.contracts.envelope import Envelope
from shared.contracts.events import SchoolProfile, TeacherRecord
from shared.contracts.vocabulary import PostStatus
from shared.eventstore.store import Append, EventStore, Metadata

_LOCK_SQL = {Lock.NONE: "", Lock.SHARE: " FOR KEY SHARE", Lock.UPDATE: " FOR UPDATE"}
_SCHOOL_COLS = ("code, name, stage, is_teaching_point, county_code, city_code, reporting_line, "
                "is_rural, is_open, merged_into, version")
_TEACHER_COLS = "teacher_id, school_code, has_left, record, completeness, version"


def _school(row: asyncpg.Record) -> School:
    profile = SchoolProfile(
        name=row["name"], stage=row["stage"], is_teaching_point=row["is_teaching_point"],
        county_code=row["county_code"], city_code=row["city_code"],
        reporting_line=row["reporting_line"], is_rural=row["is_rural"])
    return School(code=row["code"], profile=profile, is_open=row["is_open"],
                  merged_into=row["merged_into"], version=row["version"])


def _teacher(row: asyncpg.Record) -> Teacher:
    record = row["record"]
    if isinstance(record, str):
        record = json.loads(record)
    return Teacher(teacher_id=str(row["teacher_id"]), school_code=row["school_code"],
                   record=TeacherRecord.model_validate(record),
                   completeness=float(row["completeness"]), version=row["version"],
                   has_left=row["has_left"])


def _prefix_range(prefix: str) -> tuple[str, str]:
    """[prefix, next) in code-point order: every string that starts with `prefix`."""
    return prefix, prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF))


def _identity(row: asyncpg.Record) -> Identity:
    return Identity(teacher_id=str(row["teacher_id"]), id_number=row["id_number"],
                    school_code=row["school_code"], active=row["active"])


class PgRegistry:
    def __init__(self, conn: asyncpg.Connection, store: EventStore) -> None:
        self.conn = conn
        self.store = store
        self.s = store.schema

    # ------------------------------------------------------------------ schools
    async def school(self, code: str, lock: Lock = Lock.NONE) -> School | None:
        row = await self.conn.fetchrow(
            f"SELECT {_SCHOOL_COLS} FROM {self.s}.schools WHERE code = $1{_LOCK_SQL[lock]}", code)
        return _school(row) if row else None

    async def schools(self, codes: Collection[str], lock: Lock = Lock.NONE) -> dict[str, School]:
        rows = await self.conn.fetch(
            f"SELECT {_SCHOOL_COLS} FROM {self.s}.schools WHERE code = ANY($1::text[]) "
            f"ORDER BY code{_LOCK_SQL[lock]}", list(codes))
        return {r["code"]: _school(r) for r in rows}

    async def list_schools(self, *, county_code: str | None, city_code: str | None,
                           limit: int, offset: int) -> list[School]:
        rows = await self.conn.fetch(
            f"SELECT {_SCHOOL_COLS} FROM {self.s}.schools "
            "WHERE ($1::text IS NULL OR county_code = $1) AND ($2::text IS NULL OR city_code = $2) "
            "ORDER BY code LIMIT $3 OFFSET $4", county_code, city_code, limit, offset)
        return [_school(r) for r in rows]

    async def save_schools(self, schools: Sequence[School]) -> None:
        if not schools:
            return
        await self.conn.executemany(
            f"""INSERT INTO {self.s}.schools ({_SCHOOL_COLS})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, stage = EXCLUDED.stage,
                  is_teaching_point = EXCLUDED.is_teaching_point,
                  county_code = EXCLUDED.county_code, city_code = EXCLUDED.city_code,
                  reporting_line = EXCLUDED.reporting_line, is_rural = EXCLUDED.is_rural,
                  is_open = EXCLUDED.is_open, merged_into = EXCLUDED.merged_into,
                  version = EXCLUDED.version, updated_at = now()""",
            [(s.code, s.profile.name, s.profile.stage.value, s.profile.is_teaching_point,
              s.profile.county_code, s.profile.city_code, s.profile.reporting_line.value,
              s.profile.is_rural, s.is_open, s.merged_into, s.version) for s in schools])

    # ------------------------------------------------------------------ teachers
    async def teacher(self, teacher_id: str, lock: bool = False) -> Teacher | None:
        row = await self.conn.fetchrow(
            f"SELECT {_TEACHER_COLS} FROM {self.s}.teachers WHERE teacher_id = $1::uuid"
            + (" FOR UPDATE" if lock else ""), teacher_id)
        return _teacher(row) if row else None

    async def teachers(self, teacher_ids: Collection[str], lock: bool = False
                       ) -> dict[str, Teacher]:
        if not teacher_ids:
            return {}
        rows = await self.conn.fetch(
            f"SELECT {_TEACHER_COLS} FROM {self.s}.teachers WHERE teacher_id = ANY($1::uuid[]) "
            "ORDER BY teacher_id" + (" FOR UPDATE" if lock else ""), list(teacher_ids))
        return {str(r["teacher_id"]): _teacher(r) for r in rows}

    async def teachers_at(self, school_codes: Collection[str], *, lock: bool = False,
                          limit: int | None = None, offset: int = 0) -> list[Teacher]:
        if not school_codes:
            return []
        rows = await self.conn.fetch(
            f"SELECT {_TEACHER_COLS} FROM {self.s}.teachers "
            "WHERE school_code = ANY($1::text[]) AND NOT has_left "
            "ORDER BY school_code, teacher_id LIMIT $2 OFFSET $3"
            + (" FOR UPDATE" if lock else ""), list(school_codes), limit, offset)
        return [_teacher(r) for r in rows]

    async def search_teachers(self, query: TeacherQuery, *, within: Region | None,
                              teacher_ids: Collection[str] | None, limit: int, offset: int
                              ) -> list[TeacherHit]:
        """Only the conditions the query has, so each plan uses its index: the name prefix as
        a range on teachers_by_name (C collation: byte order is code-point order in UTF-8)."""
        where: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if teacher_ids is not None:
            where.append(f"t.teacher_id = ANY({arg(list(teacher_ids))}::uuid[])")
        if query.name_prefix:
            low, high = _prefix_range(query.name_prefix)
            where.append(f"(t.record->>'name') COLLATE \"C\" >= {arg(low)} "
                         f"AND (t.record->>'name') COLLATE \"C\" < {arg(high)}")
        if query.school_code:
            where.append(f"t.school_code = {arg(query.school_code)}")
        if not query.include_left:
            where.append("NOT t.has_left")
        if within is not None:
            for column, value in (("code", within.school_code),
                                  ("county_code", within.county_code),
                                  ("city_code", within.city_code)):
                if value:
                    where.append(f"s.{column} = {arg(value)}")
        rows = await self.conn.fetch(
            f"SELECT t.teacher_id, t.school_code, t.has_left, t.record, t.completeness, "
            f"t.version FROM {self.s}.teachers t JOIN {self.s}.schools s ON s.code = t.school_code "
            f"WHERE {' AND '.join(where) or 'true'} "
            f"ORDER BY (t.record->>'name') COLLATE \"C\", t.teacher_id "
            f"LIMIT {arg(limit)} OFFSET {arg(offset)}", *args)
        found = [_teacher(r) for r in rows]
        schools = await self.schools({t.school_code for t in found})
        return [TeacherHit(t, schools[t.school_code]) for t in found]

    async def count_active_at(self, school_code: str) -> int:
        return int(await self.conn.fetchval(
            f"SELECT count(*) FROM {self.s}.teachers WHERE school_code = $1 AND NOT has_left",
            school_code))

    async def save_teachers(self, teachers: Sequence[Teacher]) -> None:
        if not teachers:
            return
        await self.conn.execute(
            f"""INSERT INTO {self.s}.teachers (teacher_id, school_code, in_post, has_left, record,
                                               completeness, version)
                SELECT t, s, i, l, r::jsonb, c, v
                FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::bool[], $5::text[],
                            $6::real[], $7::int[]) AS x(t, s, i, l, r, c, v)
                ON CONFLICT (teacher_id) DO UPDATE SET school_code = EXCLUDED.school_code,
                  in_post = EXCLUDED.in_post, has_left = EXCLUDED.has_left,
                  record = EXCLUDED.record, completeness = EXCLUDED.completeness,
                  version = EXCLUDED.version, updated_at = now()""",
            [t.teacher_id for t in teachers], [t.school_code for t in teachers],
            [t.record.post_status is PostStatus.IN_POST for t in teachers],
            [t.has_left for t in teachers], [t.record.model_dump_json() for t in teachers],
            [t.completeness for t in teachers], [t.version for t in teachers])

    # ------------------------------------------------------------------ identities
    async def identities(self, id_numbers: Collection[str]) -> dict[str, Identity]:
        """Per ID number its active identity, else its most recent inactive one."""
        if not id_numbers:
            return {}
        # One index probe per number: `id_number = ANY(...)` over the table was planned as a
        # sequential scan while a fresh table's statistics were stale (3 ms per submission
        # and growing with the table; pg_stat_statements, issue 14).
        rows = await self.conn.fetch(
            f"""SELECT i.teacher_id, i.id_number, i.school_code, i.active
                FROM unnest($1::text[]) AS n(id_number)
                CROSS JOIN LATERAL (
                    SELECT teacher_id, id_number, school_code, active FROM {self.s}.identities
                    WHERE id_number = n.id_number
                    ORDER BY active DESC, updated_at DESC LIMIT 1) AS i""",
            list(set(id_numbers)))
        return {r["id_number"]: _identity(r) for r in rows}

    async def teacher_ids_of(self, id_number: str) -> list[str]:
        rows = await self.conn.fetch(
            f"SELECT teacher_id FROM {self.s}.identities WHERE id_number = $1 "
            "ORDER BY active DESC, updated_at DESC", id_number)
        return [str(r["teacher_id"]) for r in rows]

    async def identity_of(self, teacher_id: str) -> Identity | None:
        row = await self.conn.fetchrow(
            f"SELECT teacher_id, id_number, school_code, active FROM {self.s}.identities "
            "WHERE teacher_id = $1::uuid", teacher_id)
        return _identity(row) if row else None

    async def claim_identities(self, claims: Sequence[Identity]) -> set[str]:
        if not claims:
            return set()
        rows = await self.conn.fetch(
            f"""INSERT INTO {self.s}.identities (teacher_id, id_number, school_code, active)
                SELECT t, n, s, true FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(t, n, s)
                ON CONFLICT (id_number) WHERE active DO NOTHING
                RETURNING teacher_id""",
            [c.teacher_id for c in claims], [c.id_number for c in claims],
            [c.school_code for c in claims])
        return {str(r["teacher_id"]) for r in rows}

    async def set_identity(self, teacher_id: str, *, active: bool, school_code: str) -> bool:
        return await self._guarded(
            f"UPDATE {self.s}.identities SET active = $2, school_code = $3, updated_at = now() "
            "WHERE teacher_id = $1::uuid", teacher_id, active, school_code)

    async def change_id_number(self, teacher_id: str, id_number: str) -> bool:
        return await self._guarded(
            f"UPDATE {self.s}.identities SET id_number = $2, updated_at = now() "
            "WHERE teacher_id = $1::uuid", teacher_id, id_number)

    async def _guarded(self, sql: str, *args: Any) -> bool:
        """Run an identity update in a savepoint: False (and nothing changed) when it would
        give a person a second active post."""
        try:
            async with self.conn.transaction():
                await self.conn.execute(sql, *args)
        except asyncpg.UniqueViolationError:
            return False
        return True

    async def move_identities(self, teacher_ids: Collection[str], school_code: str) -> None:
        await self.conn.execute(
            f"UPDATE {self.s}.identities SET school_code = $2, updated_at = now() "
            "WHERE teacher_id = ANY($1::uuid[])", list(teacher_ids), school_code)

    # ------------------------------------------------------------------ events
    async def append(self, appends: Sequence[Append], meta: Metadata) -> list[Envelope]:
        return await self.store.append_many(self.conn, appends, meta)

    # ------------------------------------------------------------------ documents
    async def document(self, sha256: str) -> Document | None:
        row = await self.conn.fetchrow(
            f"SELECT sha256, media_type, size_bytes, filename FROM {self.s}.documents "
            "WHERE sha256 = $1", sha256)
        return Document(row["sha256"], row["media_type"], row["size_bytes"],
                        row["filename"]) if row else None

    async def document_content(self, sha256: str) -> bytes | None:
        content = await self.conn.fetchval(
            f"SELECT content FROM {self.s}.documents WHERE sha256 = $1", sha256)
        return bytes(content) if content is not None else None

    async def save_document(self, doc: Document, content: bytes, uploaded_by: str) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.documents (sha256, media_type, size_bytes, filename, content, "
            "uploaded_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
            doc.sha256, doc.media_type, doc.size_bytes, doc.filename, content, uploaded_by)

    async def note_document_use(self, sha256: str, teacher_id: str,
                                school_codes: Collection[str]) -> None:
        await self.conn.execute(
            f"INSERT INTO {self.s}.document_uses (sha256, school_code, teacher_id) "
            "SELECT $1, unnest($2::text[]), $3::uuid ON CONFLICT DO NOTHING",
            sha256, list(school_codes), teacher_id)

    async def document_schools(self, sha256: str) -> set[str]:
        rows = await self.conn.fetch(
            f"SELECT DISTINCT school_code FROM {self.s}.document_uses WHERE sha256 = $1", sha256)
        return {r["school_code"] for r in rows}

    # ------------------------------------------------------------------ idempotency
    async def begin_request(self, subject: str, key: str,
                            request_hash: str) -> tuple[str, StoredResponse] | None:
        inserted = await self.conn.fetchval(
            f"INSERT INTO {self.s}.idempotency_keys (subject, key, request_hash) "
            "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
            subject, key, request_hash)
        if inserted:
            return None
        row = await self.conn.fetchrow(
            f"SELECT request_hash, status_code, response FROM {self.s}.idempotency_keys "
            "WHERE subject = $1 AND key = $2", subject, key)
        body = row["response"]
        if isinstance(body, str):
            body = json.loads(body)
        return row["request_hash"], StoredResponse(row["status_code"], body)

    async def finish_request(self, subject: str, key: str, response: StoredResponse) -> None:
        await self.conn.execute(
            f"UPDATE {self.s}.idempotency_keys SET status_code = $3, response = $4::text::jsonb "
            "WHERE subject = $1 AND key = $2",
            subject, key, response.status_code, json.dumps(response.body, ensure_ascii=False))

    async def begin_requests(self, claims: Sequence[tuple[str, str, str]]
                             ) -> dict[tuple[str, str], tuple[str, StoredResponse]]:
        """Claim many keys in one statement; the ones that existed already, with their first
        request's hash and answer (a concurrent first attempt is waited for, as above)."""
        if not claims:
            return {}
        inserted = {(r["subject"], r["key"]) for r in await self.conn.fetch(
            f"INSERT INTO {self.s}.idempotency_keys (subject, key, request_hash) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
            "ON CONFLICT DO NOTHING RETURNING subject, key",
            [c[0] for c in claims], [c[1] for c in claims], [c[2] for c in claims])}
        existing = [c for c in claims if (c[0], c[1]) not in inserted]
        if not existing:
            return {}
        rows = await self.conn.fetch(
            f"SELECT i.subject, i.key, i.request_hash, i.status_code, i.response "
            f"FROM {self.s}.idempotency_keys i JOIN unnest($1::text[], $2::text[]) AS x(s, k) "
            "ON i.subject = x.s AND i.key = x.k",
            [c[0] for c in existing], [c[1] for c in existing])
        out = {}
        for r in rows:
            body = r["response"]
            if isinstance(body, str):
                body = json.loads(body)
            out[(r["subject"], r["key"])] = (r["request_hash"],
                                             StoredResponse(r["status_code"], body))
        return out

    async def finish_requests(self, answers: Sequence[tuple[str, str, StoredResponse]]) -> None:
        if not answers:
            return
        await self.conn.execute(
            f"UPDATE {self.s}.idempotency_keys i SET status_code = x.c, response = x.r::jsonb "
            "FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS x(s, k, c, r) "
            "WHERE i.subject = x.s AND i.key = x.k",
            [a[0] for a in answers], [a[1] for a in answers],
            [a[2].status_code for a in answers],
            [json.dumps(a[2].body, ensure_ascii=False) for a in answers])

    async def forget_requests(self, keys: Sequence[tuple[str, str]]) -> None:
        """Remove the keys of refused requests: a retry runs again (and is refused again)."""
        if not keys:
            return
        await self.conn.execute(
            f"DELETE FROM {self.s}.idempotency_keys i USING unnest($1::text[], $2::text[]) "
            "AS x(s, k) WHERE i.subject = x.s AND i.key = x.k",
            [k[0] for k in keys], [k[1] for k in keys])


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, store: EventStore) -> AsyncIterator[PgRegistry]:
    """One transaction on one pooled connection, as a Registry."""
    async with pool.acquire() as conn, conn.transaction():
        yield PgRegistry(conn, store)
