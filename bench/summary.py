"""Write bench/results/SUMMARY.md from the JSON each benchmark left in bench/results/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _load(results: Path, name: str) -> dict[str, Any]:
    path = results / f"{name}.json"
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _latest(data: dict[str, Any]) -> dict[str, Any]:
    """Benches that keep labelled runs side by side ("before", "after"): the "after" one."""
    if "after" in data and isinstance(data["after"], dict):
        return data["after"]
    labelled = [v for v in data.values() if isinstance(v, dict) and "command" in v]
    return labelled[-1] if labelled else data


def _get(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value}{unit}"


def _ratio(value: Any, limit: Any) -> str:
    try:
        return f"{float(value) / float(limit):.0%}"
    except (TypeError, ValueError, ZeroDivisionError):
        return "n/a"


def _times(value: Any, other: Any) -> str:
    try:
        return f"{float(value) / float(other):.1f}x"
    except (TypeError, ValueError, ZeroDivisionError):
        return "n/a x"


def _intake_rows(intake: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """bench/intake_submissions.py: its own floor (durable single-event transactions), the
    eventsourcing peer and Kafka's producer with production batching, all in the same run."""
    floor = {f.get("connections"): f.get("per_s") for f in intake.get("floor", [])}
    floor20, peer = floor.get(20), _get(intake, "peer", "per_s")
    rows = [
        ("PostgreSQL floor: durable single-event transactions, 20 / 100 connections",
         f"{_fmt(floor20, '/s')} / {_fmt(floor.get(100), '/s')}", "limit", "same server"),
        ("peer: eventsourcing library, PostgreSQL appends, 20 writers", _fmt(peer, "/s"),
         _ratio(peer, floor20), "vs floor at 20"),
        ("Kafka producer, production batching (lz4, linger 5 ms), TeacherRegistered size",
         _fmt(_get(intake, "kafka_producer", "records_per_s"), " msg/s"), "limit", ""),
    ]
    for run in intake.get("submissions", []):
        rate = run.get("accepted_per_s")
        rows.append((f"intake submissions, {run.get('connections')} clients (wrk)",
                     _fmt(rate, "/s"), _ratio(rate, floor20),
                     f"p50 {_fmt(_get(run, 'latency_ms', '50'), ' ms')}, "
                     f"p99 {_fmt(_get(run, 'latency_ms', '99'), ' ms')}; "
                     f"{_times(rate, peer)} the peer; "
                     f"non-2xx {run.get('non_2xx')}; load client "
                     f"{_fmt(run.get('client_cpu_s'), ' CPU s')}"))
    rows_n = _get(intake, "bulk_import", "rows")
    imp = _get(intake, "bulk_import", "first", "rows_per_s")
    rows.append((f"intake bulk import ({_fmt(rows_n)}-row file)", _fmt(imp, " rows/s"),
                 _ratio(imp, floor20),
                 f"vs floor at 20; again (unchanged): "
                 f"{_fmt(_get(intake, 'bulk_import', 'again', 'rows_per_s'), ' rows/s')}"))
    pg = _get(intake, "durability", "postgres") or {}
    kafka = _get(intake, "durability", "kafka") or {}
    if pg:
        rows.append(("durability of the intake run", "", "",
                     ", ".join(f"{k}={pg.get(k)}" for k in
                               ("fsync", "synchronous_commit", "full_page_writes")) +
                     f"; Kafka acks={kafka.get('acks')}, replication "
                     f"{kafka.get('replication_factor')}"))
    return rows


def _durability(record: dict[str, Any]) -> str:
    pg = _get(record, "durability", "postgres") or {}
    kafka = _get(record, "durability", "kafka") or {}
    if not pg:
        return "not recorded"
    return (", ".join(f"{k}={pg.get(k)}" for k in ("fsync", "synchronous_commit",
                                                  "full_page_writes"))
            + f"; Kafka acks={kafka.get('acks')}, idempotent producer, "
              f"{kafka.get('brokers')} broker, replication factor "
              f"{kafka.get('replication_factor')}")


def _durability_by_record(records: dict[str, dict[str, Any]]) -> str:
    """Group the records by the durability they state, so a summary never claims a setting
    for a record that did not record it."""
    groups: dict[str, list[str]] = {}
    for name, record in records.items():
        if record:
            groups.setdefault(_durability(record), []).append(name)
    return "; ".join(f"{', '.join(names)}: {mode}" for mode, names in groups.items())


def write_summary(results: Path, outcomes: dict[str, tuple[int, float]], *,
                  quick: bool = False) -> Path:
    machine = _load(results, "machine")
    intake = _load(results, "intake")
    review = _latest(_load(results, "review_throughput"))
    lag = _load(results, "review")
    reporting = _latest(_load(results, "reporting_throughput"))
    asof = _load(results, "reporting")
    orgsync = _load(results, "orgsync")
    province = _load(results, "province")

    kprod = _get(machine, "kafka_producer", "records_per_s")
    kcons = _get(machine, "kafka_consumer", "records_per_s")
    copy = _get(machine, "postgres_copy", "rows_per_s")
    rows: list[tuple[str, str, str, str]] = [
        ("Kafka producer (perf tool, acks=all, idempotent)",
         _fmt(kprod, " msg/s"), "limit", f"{_fmt(_get(machine, 'message_bytes'))} B messages"),
        ("Kafka consumer (perf tool)", _fmt(kcons, " msg/s"), "limit", ""),
        ("PostgreSQL COPY of event rows", _fmt(copy, " rows/s"), "limit", ""),
    ]
    rows += _intake_rows(intake)
    rc = _get(review, "consumer", "events_per_s")
    rows.append(("review consumer (TeacherRegistered)", _fmt(rc, " events/s"), _ratio(rc, kcons),
                 "vs Kafka consumer"))
    rd = _get(review, "decisions", "items_per_s_overall")
    rows.append(("review decisions (batches of 1,000)", _fmt(rd, " items/s"), _ratio(rd, copy),
                 "each appends 1-2 events"))
    rows.append(("review projection lag under load", "", "",
                 f"p50 {_fmt(_get(lag, 'lag_kafka_to_queue', 'p50_ms'), ' ms')}, "
                 f"p99 {_fmt(_get(lag, 'lag_kafka_to_queue', 'p99_ms'), ' ms')}"))
    ra = _get(reporting, "A_schools_and_teachers", "steady_events_per_second")
    rb = _get(reporting, "B_review_decisions", "steady_events_per_second")
    rr = _get(reporting, "C_replay", "events_per_second")
    rows += [
        ("reporting consumer, teacher events", _fmt(ra, " events/s"), _ratio(ra, kcons),
         "vs Kafka consumer"),
        ("reporting consumer, review events", _fmt(rb, " events/s"), _ratio(rb, kcons), ""),
        ("reporting replay", _fmt(rr, " events/s"), _ratio(rr, kcons), ""),
        ("reporting stage table as of a date, province scale",
         _fmt(_get(asof, "latency", "stages_as_of_2017_04_07", "median_s"), " s"), "",
         f"{_fmt(_get(asof, 'projection', 'teachers'))} teachers"),
        ("orgsync plan / apply, 400 ops, 10,000 teachers",
         f"{_fmt(_get(orgsync, 'timings', 'plan_median_s'), ' s')} / "
         f"{_fmt(_get(orgsync, 'timings', 'apply_s'), ' s')}", "", ""),
    ]
    if province:
        rows.append(("notice province end to end (first submission -> reports correct)",
                     _fmt(_get(province, "seconds"), " s"), _ratio(
                         _get(province, "events_per_s"), kprod),
                     f"{_fmt(_get(province, 'events'))} events, "
                     f"{_fmt(_get(province, 'events_per_s'), ' events/s')} (vs Kafka producer); "
                     f"verified: {_get(province, 'verified')}; "
                     f"recorded by `{_get(province, 'command')}` at {_get(province, 'when')}"))
    lines = [
        "# Benchmark summary",
        "",
        f"Written {datetime.now(UTC).isoformat(timespec='seconds')} by `make bench`"
        f"{' --quick' if quick else ''} on {_fmt(machine.get('cpus'))} cores "
        f"(load average at the machine bench: {_fmt(machine.get('load_average_1m'))}). "
        "Every figure comes from the JSON file of its bench in this folder; ratios compare it "
        "with the machine's own limit measured in the same run on the same broker and server.",
        "",
        "Durability per record (PostgreSQL's settings as the server reported them, Kafka's "
        "producer settings; \"not recorded\" marks a record written before benches stamped "
        "it): " + _durability_by_record({
            "machine": machine, "intake": intake, "review_throughput": review,
            "review": lag, "reporting_throughput": reporting, "reporting": asof,
            "orgsync": orgsync, "province": province}) + ".",
        "",
        "| measure | figure | share of limit | note |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "| bench | exit | seconds |",
        "|---|---|---|",
        *[f"| {n} | {code} | {secs:,.0f} |" for n, (code, secs) in outcomes.items()],
        "",
    ]
    lines += _profiled(_load(results, "reporting_jit"))
    path = results / "SUMMARY.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _profiled(jit: dict[str, Any]) -> list[str]:
    """The slowest stage profiled and fixed: reporting's PostgreSQL cost per event with JIT
    compilation on (before) and off (after), from bench/results/reporting_jit.json."""
    before, after = jit.get("jit_on_before"), jit.get("jit_off_after")
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return []
    out = ["## Profiled and fixed: PostgreSQL JIT in reporting's batch apply", "",
           "| phase | PostgreSQL CPU per event, before -> after | events per CPU second, "
           "before -> after |", "|---|---|---|"]
    for phase in ("A_schools_and_teachers", "B_review_decisions"):
        out.append(
            f"| {phase} | {_fmt(_get(before, phase, 'postgres_cpu_us_per_event'), ' µs')} -> "
            f"{_fmt(_get(after, phase, 'postgres_cpu_us_per_event'), ' µs')} | "
            f"{_fmt(_get(before, phase, 'events_per_cpu_second'))} -> "
            f"{_fmt(_get(after, phase, 'events_per_cpu_second'))} |")
    out += ["", f"Commands: `{before.get('command')}` (at the commit before the fix) and "
            f"`{after.get('command')}`; load average about "
            f"{_fmt(_get(after, 'machine', 'loadavg_at_end', 0))}, so wall-clock rates are "
            "noisy and CPU per event is the figure to compare.", ""]
    return out
