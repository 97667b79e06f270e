"""``tmis orgsync plan|apply|announce FILE``, ``tmis orgsync pending``, ``tmis orgsync show ID``.

The quarterly school restructuring (学校撤并) batches, through orgsync's HTTP API. The URL is
``TMIS_ORGSYNC_URL`` or the one ``tmis up`` wrote to ``<state dir>/stack.json``
(``services.orgsync.url``; the state dir is ``$TMIS_HOME`` or ``<repo>/.tmis``). The command
signs its requests with ``TMIS_TOKEN`` when set, else with a service token minted from the
local settings' secret (``TMIS_JWT_SECRET``). Output is Chinese tables; ``--json`` prints the
API's answer as it is. Exit code 1 when the batch is refused (or a plan finds problems).
The batch format: docs/orgsync-batch-format.md.
"""

from __future__ import annotations

import argparse
import json
import os
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from shared.auth import Role
from shared.contracts.vocabulary import LABELS
from shared.domain.divisions import divisions
from tmis_cli import CliError
from tmis_cli.tokens import local_token

REPO = Path(__file__).resolve().parents[2]
MAX_ROWS = 60  # longer lists are cut in the table (all of them with --json)
# Not vocabulary.LABELS: there ReviewLevel.COUNTY and ReportingLine.COUNTY are the same key.
LINE_LABELS = {"county": "县属", "city": "市属", "province": "厅直属", "university": "高校"}
OP_LABELS = {"merge": "合并", "close": "撤销", "open": "新设", "rename": "更名",
             "restage": "变更学段", "change_reporting_line": "变更隶属关系",
             "move_county": "划转县区"}

ClientFactory = Callable[[], httpx.Client]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "orgsync", help="学校撤并批次: plan, announce and apply quarterly restructuring batches")
    parser.add_argument("--url", help="orgsync URL (default: TMIS_ORGSYNC_URL or stack.json)")
    sub = parser.add_subparsers(dest="orgsync_command", metavar="SUBCOMMAND", required=True)
    for name, helptext in (("plan", "预览: show what the batch would change and every problem"),
                           ("apply", "应用: apply the whole batch, or nothing"),
                           ("announce", "公布: record the batch as pending, not applied")):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("file", type=Path, help="the batch, .csv or .json")
        cmd.add_argument("--json", action="store_true", help="print the API's JSON answer")
        cmd.set_defaults(func=_command(name))
    pending = sub.add_parser("pending", help="未完成撤并: announced batches not yet applied")
    pending.add_argument("--json", action="store_true")
    pending.set_defaults(func=_command("pending"))
    show = sub.add_parser("show", help="one batch: status and what it did")
    show.add_argument("batch_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_command("show"))


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return RUNNERS[name](args, lambda: _client(args.url))
    return run


# --------------------------------------------------------------------------- connection


def orgsync_url(explicit: str | None = None) -> str:
    if explicit:
        return explicit.rstrip("/")
    if os.environ.get("TMIS_ORGSYNC_URL"):
        return os.environ["TMIS_ORGSYNC_URL"].rstrip("/")
    home = os.environ.get("TMIS_HOME")
    state = Path(home).expanduser() if home else REPO / ".tmis"
    try:
        doc = json.loads((state / "stack.json").read_text())
        return str(doc["services"]["orgsync"]["url"]).rstrip("/")
    except (OSError, ValueError, KeyError, TypeError):
        raise CliError("不知道 orgsync 的地址: 请先运行 `tmis up`，或设置 TMIS_ORGSYNC_URL "
                       "(orgsync URL unknown)") from None


def _client(url: str | None) -> httpx.Client:
    token = os.environ.get("TMIS_TOKEN") or local_token(Role.SERVICE,
                                                       subject="tmis-cli:orgsync")
    # trust_env=False: the stack answers on 127.0.0.1, never through a proxy of the environment
    return httpx.Client(base_url=orgsync_url(url), timeout=300, trust_env=False,
                        headers={"Authorization": f"Bearer {token}"})


def _call(factory: ClientFactory, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        with factory() as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise CliError(f"无法连接 orgsync (cannot reach orgsync): {exc}") from exc
    if response.status_code in (401, 403):
        raise CliError(f"没有权限 ({response.status_code}): {_message(response)}")
    if response.status_code >= 500 or response.status_code == 404:
        raise CliError(f"orgsync 答复 {response.status_code}: {_message(response)}")
    return response


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:300]


def _upload(args: argparse.Namespace) -> dict[str, Any]:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"无法读取文件 {path}: {exc.strerror}") from exc
    kind = "application/json" if path.suffix.lower() == ".json" else "text/csv"
    return {"content": data, "headers": {"Content-Type": kind}}


# --------------------------------------------------------------------------- commands


def run_plan(args: argparse.Namespace, factory: ClientFactory) -> int:
    response = _call(factory, "POST", "/v1/batches/plan", **_upload(args))
    doc = response.json()
    if response.status_code != 200:
        return _refused(doc, args.json)
    if args.json:
        _print_json(doc)
    else:
        print(render_plan(doc))
    return 0 if doc.get("ok") else 1


def run_apply(args: argparse.Namespace, factory: ClientFactory) -> int:
    response = _call(factory, "POST", "/v1/batches/apply", **_upload(args))
    doc = response.json()
    if response.status_code != 200:
        return _refused(doc, args.json)
    if args.json:
        _print_json(doc)
        return 0
    if doc["outcome"] == "already_applied":
        print(f"批次 {doc['batch_id']} 此前已应用，本次未做任何修改 (already applied).")
        return 0
    print(f"批次 {doc['batch_id']} 已应用: {doc['operations']} 条操作，生效日期 "
          f"{doc['effective_date']}，随校调整教师 {doc['teachers_to_move']} 人。")
    summary = doc.get("summary") or {}
    if summary.get("counts"):
        print()
        print(_counts_table(summary["counts"]))
    _print_issues("警告", summary.get("warnings", []))
    return 0


def run_announce(args: argparse.Namespace, factory: ClientFactory) -> int:
    response = _call(factory, "POST", "/v1/batches/announce", **_upload(args))
    doc = response.json()
    if response.status_code != 200:
        return _refused(doc, args.json)
    if args.json:
        _print_json(doc)
        return 0
    words = {"announced": "已公布为待撤并批次", "already_announced": "此前已公布，未做修改",
             "already_applied": "此前已应用，未做修改"}
    print(f"批次 {doc['batch_id']} {words.get(doc['outcome'], doc['outcome'])} "
          f"({doc['operations']} 条操作，生效日期 {doc['effective_date']})。")
    plan = doc.get("plan") or {}
    if plan.get("problems"):
        print("注意: 按当前学校库，应用时会遇到以下问题 (would be refused now):")
        _print_issues("问题", plan["problems"])
    return 0


def run_pending(args: argparse.Namespace, factory: ClientFactory) -> int:
    doc = _call(factory, "GET", "/v1/pending").json()
    if args.json:
        _print_json(doc)
        return 0
    print(render_pending(doc))
    return 0


def run_show(args: argparse.Namespace, factory: ClientFactory) -> int:
    doc = _call(factory, "GET", f"/v1/batches/{args.batch_id}").json()
    if args.json:
        _print_json(doc)
        return 0
    status = {"announced": "已公布，未应用", "applied": "已应用"}.get(doc["status"], doc["status"])
    print(f"批次 {doc['batch_id']}: {status}; 生效日期 {doc['effective_date']}; "
          f"{doc['op_count']} 条操作")
    if doc.get("applied_at"):
        print(f"应用于 {doc['applied_at']} ({doc.get('applied_by')}); 随校调整教师 "
              f"{doc.get('teachers_to_move')} 人")
    summary = doc.get("plan_summary") or {}
    if summary.get("counts"):
        print(_counts_table(summary["counts"]))
    return 0


RUNNERS: dict[str, Callable[[argparse.Namespace, ClientFactory], int]] = {
    "plan": run_plan, "apply": run_apply, "announce": run_announce, "pending": run_pending,
    "show": run_show,
}


def _refused(doc: dict[str, Any], as_json: bool) -> int:
    if as_json:
        _print_json(doc)
        return 1
    print(f"被拒绝 (refused): {doc.get('message', '')}")
    _print_issues("问题", doc.get("issues") or doc.get("problems") or [])
    return 1


# --------------------------------------------------------------------------- rendering


def render_plan(doc: dict[str, Any]) -> str:
    out: list[str] = []
    if doc.get("batch_id") is None or "changes" not in doc:
        out.append(f"批次 {doc.get('batch_id') or '?'} 无法读取。")
    else:
        kinds = "，".join(f"{OP_LABELS.get(k, k)} {n}"
                         for k, n in doc.get("operations_by_kind", {}).items())
        known = doc.get("known_batch")
        if known and known["status"] == "applied":
            out += [f"注意: 批次 {doc['batch_id']} 已应用"
                    + ("，内容相同: 再次应用不会做任何修改。" if known["same_content"] else
                       "，但内容不同: 应用会被拒绝，请换一个批次号。"), ""]
        elif known:
            out += [f"注意: 批次 {doc['batch_id']} 已公布"
                    + ("。" if known["same_content"] else "，但内容不同: 请换一个批次号。"), ""]
        out += [f"批次 {doc['batch_id']}  生效日期 {doc['effective_date']}  "
                f"共 {doc['operations']} 条操作 ({kinds})",
                f"随校调整教师 {doc['teachers_to_move']} 人，其中在本单位任职 "
                f"{doc['in_post_to_move']} 人", ""]
        rows = [[str(c["line"]), c["op_label"], c["school_code"], _describe(c)]
                for c in doc["changes"]]
        out += ["学校变化", _table(["行号", "操作", "学校代码", "变化"], rows), ""]
        if doc["counts"]:
            out += ["分县区、学段的学校数与教职工数 (应用前 → 应用后)",
                    _counts_table(doc["counts"]), ""]
    out += _issue_lines("问题", doc.get("problems", []))
    out += _issue_lines("警告", doc.get("warnings", []))
    problems = len(doc.get("problems", []))
    out.append("结论: 可以应用 (tmis orgsync apply)。" if doc.get("ok") else
               f"结论: 有 {problems} 个问题，整批不能应用。")
    return "\n".join(out)


def render_pending(doc: dict[str, Any]) -> str:
    labels: dict[str, str] = doc["labels"]
    shown = [k for k in labels if k in ("kindergarten", "vocational", "primary_secondary")
             or doc["totals"].get(k)]
    rows = [[b["batch_id"], b["effective_date"], *(str(b["merging"].get(k, 0)) for k in shown),
             str(b["opening"]), str(b["other"])] for b in doc["batches"]]
    rows.append(["合计", "", *(str(doc["totals"].get(k, 0)) for k in shown),
                 str(sum(b["opening"] for b in doc["batches"])),
                 str(sum(b["other"] for b in doc["batches"]))])
    headers = ["批次", "生效日期", *(f"撤并{labels[k]}" for k in shown), "新设", "其他变更"]
    if not doc["batches"]:
        return "没有已公布但未应用的撤并批次。\n" + doc["sentence"]
    return "\n".join([doc["sentence"], "", _table(headers, rows)])


def _describe(change: dict[str, Any]) -> str:
    before, after = change.get("before") or {}, change.get("after") or {}
    op = change["op"]
    if op == "open":
        return (f"新设 {after['name']} ({LABELS.get(after['stage'], after['stage'])}, "
                f"{_county(after['county_code'])})")
    if op in ("merge", "close"):
        if change.get("target_code"):
            return f"并入 {change['target_code']}，教师 {change['teachers_moved']} 人随校调整"
        return "撤销"
    if op == "rename":
        return f"{before['name']} → {after['name']}"
    if op == "restage":
        return f"{LABELS.get(before['stage'], before['stage'])} → " \
               f"{LABELS.get(after['stage'], after['stage'])}"
    if op == "change_reporting_line":
        return f"{LINE_LABELS[before['reporting_line']]} → {LINE_LABELS[after['reporting_line']]}"
    return f"{_county(before['county_code'])} → {_county(after['county_code'])}"


def _county(code: str) -> str:
    county = divisions().county(code)
    return county.name if county else code


def _counts_table(counts: list[dict[str, Any]]) -> str:
    def arrow(row: dict[str, Any], key: str) -> str:
        a, b = row["before"][key], row["after"][key]
        return f"{a} → {b}" if a != b else str(a)

    rows = [[r.get("county_name") or r["county_code"], r["stage_label"], arrow(r, "schools"),
             arrow(r, "entered"), arrow(r, "teaching_points"), arrow(r, "staff")]
            for r in counts]
    return _table(["县区", "学段", "学校数", "已录入学校数", "教学点", "教职工数"], rows)


def _issue_lines(title: str, issues: list[dict[str, Any]]) -> list[str]:
    if not issues:
        return []
    rows = [[str(i.get("line") or i.get("row") or "-"), str(i.get("field") or i.get("loc")),
             str(i.get("message") or i.get("msg"))] for i in issues]
    return [f"{title} ({len(issues)})", _table(["行号", "字段", "说明"], rows), ""]


def _print_issues(title: str, issues: list[dict[str, Any]]) -> None:
    for line in _issue_lines(title, issues):
        print(line)


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cut = len(rows) - MAX_ROWS if len(rows) > MAX_ROWS else 0
    rows = list(rows[:MAX_ROWS])
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))

    out = [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    if cut:
        out.append(f"... 另有 {cut} 行未显示 (use --json for all)")
    return "\n".join(s.rstrip() for s in out)
