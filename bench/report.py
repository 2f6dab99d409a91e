"""Turn bench/results.json into the tables of docs/benchmarks.md and its charts.

Only the part between the `results` markers is rewritten; the prose around it is
kept as written.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ingest
from bench.procs import POSTGRES, REPO

DOC = REPO / "docs" / "benchmarks.md"
CHARTS = REPO / "docs" / "benchmarks"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def machine(quick: bool) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgres": _postgres_version(),
        "quick": quick,
        "load_avg_at_end": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def _postgres_version() -> str:
    try:
        out = subprocess.run(
            ["psql", POSTGRES, "-Atc", "show server_version"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unavailable"
    except (OSError, subprocess.SubprocessError):
        return "unavailable"


def table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "_not run_\n"
    heads = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(_cell(row.get(h)) for h in heads) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target (issue 18's where it restated issue 7's) against the figure measured."""
    rows: list[dict[str, Any]] = []

    def add(target: str, figure: Any, met: bool | None) -> None:
        rows.append(
            {
                "target": target,
                "measured": figure,
                "met": {True: "yes", False: "NO", None: "not run"}[met],
            }
        )

    _ingest_verdicts(results, add)
    _delivery_verdicts(results, add)
    _scale_verdicts(results, add)
    _golden_thread_verdicts(results, add)
    return rows


Add = Callable[[str, Any, bool | None], None]


def _ingest_verdicts(results: dict[str, Any], add: Add) -> None:
    ceilings = (ingest.BARE, ingest.DURABLE)
    stores = [
        r for r in results.get("ingest") or [] if "x_durable" in r and r["setup"] not in ceilings
    ]
    durable = max((r["x_durable"] for r in stores), default=None)
    bare = max((r["x_bare"] for r in stores), default=None)
    add(
        "ingest >= 0.5x bare aiohttp + SQLite group commit (best store)",
        durable and f"{durable}x",
        None if durable is None else durable >= 0.5,
    )
    add(
        "ingest >= 0.4x bare aiohttp (best store)",
        bare and f"{bare}x",
        None if bare is None else bare >= 0.4,
    )
    chat = next(
        (
            r
            for r in results.get("e2e") or []
            if r["channel"] == "chat" and r["offered_per_s"] == 500
        ),
        None,
    )
    add(
        "POST to peer p99 < 250 ms at a steady 500 events/s (chat)",
        chat and f"{chat['p99_ms']} ms",
        None if chat is None else chat["p99_ms"] < 250,
    )


def _delivery_verdicts(results: dict[str, Any], add: Add) -> None:
    both = next(
        (r for r in results.get("together") or [] if r["sender"].startswith("Ground")), None
    )
    add(
        "ingest and delivery together, one process, 20 ms sink: >= 2,000 notifications/s",
        both and f"{both['per_s']}/s",
        None if both is None else both["per_s"] >= 2000,
    )
    add(
        "ingest and delivery together: >= 10x Apprise async",
        both and f"{both['x_apprise_async']}x",
        None if both is None else both["x_apprise_async"] >= 10,
    )
    email = next((r for r in results.get("email") or [] if r["sender"].startswith("Ground")), None)
    add(
        "email >= 1000/s",
        email and f"{email['per_s']}/s",
        None if email is None else email["per_s"] >= 1000,
    )
    two = next((r for r in results.get("scaleout") or [] if r["instances"] == 2), None)
    for figure in ("delivery_x", "ingest_x"):
        add(
            f"PostgreSQL: two instances >= 1.7x one ({figure.removesuffix('_x')})",
            two and f"{two[figure]}x",
            None if two is None else two[figure] >= 1.7,
        )


def _scale_verdicts(results: dict[str, Any], add: Add) -> None:
    fu = results.get("followups")
    add(
        "1M follow-ups: peak RSS < 150 MB",
        fu and f"{fu['peak_rss_mb']} MB",
        None if not fu else fu["peak_rss_mb"] < 150,
    )
    for key, late in (fu or {}).items():
        if key.startswith("p99_late_ms_at_"):
            rate = key.removeprefix("p99_late_ms_at_").removesuffix("_per_s")
            add(
                f"1M follow-ups: p99 lateness < 1 s (ingest at {rate}/s)", f"{late} ms", late < 1000
            )
    add(
        "1M follow-ups: ready < 2 s (first start and restart)",
        fu and f"{fu['first_start_ready_s']} s, {fu['restart_ready_s']} s",
        None if not fu else max(fu["first_start_ready_s"], fu["restart_ready_s"]) < 2,
    )
    sim = [r for r in results.get("simulation") or [] if r["cases"] >= 10_000]
    fastest = min(sim, key=lambda r: r["wall_s"], default=None)
    add(
        "simulate 10,000 cases over 28 days < 60 s",
        fastest and f"{fastest['wall_s']} s ({fastest['workers']} workers)",
        None if fastest is None else fastest["wall_s"] < 60,
    )
    for row in results.get("subscriptions") or []:
        if "x_webhook" not in row:
            continue
        add(
            f"{row['way in']} keeps up with webhook ingest",
            f"{row['x_webhook']}x",
            row["x_webhook"] >= 1,
        )


def _golden_thread_verdicts(results: dict[str, Any], add: Add) -> None:
    gt = results.get("golden_thread")
    calls = {c["call"]: c for c in (gt or {}).get("calls", [])}
    cases = f"{gt['cases']:,} open cases" if gt else "1M open cases"
    for call, target_ms, what in (
        ("golden_thread(now, 7d)", 200, "GET /v1/golden-thread"),
        ("list_cases(breached, -dark, 50)", 100, "GET /v1/cases?breached=true&order=-dark"),
    ):
        figure = calls.get(call)
        add(
            f"{cases}: {what} p50 < {target_ms} ms",
            figure and f"{figure['p50_ms']} ms (p95 {figure['p95_ms']})",
            None if figure is None else figure["p50_ms"] < target_ms,
        )
    ingesting = (gt or {}).get("ingesting")
    add(
        f"{cases}: breach p99 lateness < 1 s while ingesting",
        ingesting and f"{ingesting['lateness_p99_ms']} ms ({ingesting['events_per_s']} events/s)",
        None if not ingesting else ingesting["lateness_p99_ms"] < 1000,
    )


def _golden_thread_tables(gt: dict[str, Any] | None) -> str:
    if not gt:
        return "Not run (needs PostgreSQL).\n"
    seeded = f"{gt['cases']:,} open cases seeded in {gt['seed_s']} s.\n\n"
    return seeded + table(gt["calls"]) + "\n" + table([gt["ingesting"]])


def charts(results: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    CHARTS.mkdir(parents=True, exist_ok=True)
    made = []
    panels = [
        ("ingest", "setup", "events_per_s", "Durable ingest, events/s (concurrency 64)"),
        ("delivery", "sender", "per_s", "Chat delivery to a 20 ms sink, notifications/s"),
        ("email", "sender", "per_s", "E-mail to local aiosmtpd, messages/s"),
    ]
    present = [p for p in panels if results.get(p[0])]
    if present:
        fig, axes = plt.subplots(len(present), 1, figsize=(9, 2.6 * len(present)))
        for ax, (key, label, value, title) in zip(
            list(axes) if len(present) > 1 else [axes], present, strict=True
        ):
            rows = results[key]
            ax.barh([r[label] for r in rows], [r[value] for r in rows], color="#4878a8")
            ax.set_title(title, fontsize=10)
            ax.invert_yaxis()
            ax.tick_params(labelsize=8)
        fig.tight_layout()
        fig.savefig(CHARTS / "throughput.png", dpi=110)
        plt.close(fig)
        made.append("throughput.png")
    return made


def _ran(results: dict[str, Any], name: str) -> str:
    """When a benchmark run on its own (`--only`) ran, and how busy the machine was."""
    run = (results.get("runs") or {}).get(name)
    if not run or run.get("when") == results.get("meta", {}).get("when"):
        return ""
    quick = " (QUICK sizes)" if run.get("quick") else ""
    return f"Run {run['when']}, load average at the end {run['load_avg_at_end']}{quick}.\n\n"


def write(results: dict[str, Any]) -> None:
    meta = results.get("meta", {})
    sections = [
        f"Run {meta.get('when', '?')} on {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores; "
        f"Python {meta.get('python', '?')}, SQLite {meta.get('sqlite', '?')}, "
        f"PostgreSQL {meta.get('postgres', '?')}; "
        f"load average at the end {meta.get('load_avg_at_end', '?')}"
        f"{' (QUICK sizes: a smoke run, not final figures)' if meta.get('quick') else ''}. "
        "A section run on its own since (`--only`) names its own time and load.\n",
        "### Targets\n\n" + table(verdicts(results)),
        "### 1. Durable ingest (closed loop, concurrency 64; x_bare, x_durable = events/s "
        "over the bare aiohttp ceiling and over the durable ceiling of the same run; "
        "cpu = the server process's CPU time per event; load = 1-minute load average)\n\n"
        + _ran(results, "ingest")
        + table(results.get("ingest") or []),
        "### 2. End to end, POST to peer (open loop; warm-up excluded)\n\n"
        + _ran(results, "e2e")
        + table(results.get("e2e") or []),
        "### 3. Delivery throughput to a chat sink answering after 20 ms (pre-loaded, "
        "then drained)\n\n" + _ran(results, "delivery") + table(results.get("delivery") or []),
        "### 3b. Ingest and delivery together in one process, to a chat sink answering "
        "after 20 ms (closed loop of POSTs, concurrency 64; delivered/s at the sink)\n\n"
        + _ran(results, "together")
        + table(results.get("together") or []),
        "### 4. E-mail throughput to local aiosmtpd\n\n"
        + _ran(results, "email")
        + table(results.get("email") or []),
        "### 5. Follow-up scale (SQLite)\n\n"
        + _ran(results, "followups")
        + table([results["followups"]] if results.get("followups") else []),
        "### 6. Scale-out on PostgreSQL (one schema; x = over one instance)\n\n"
        + _ran(results, "scaleout")
        + table(results.get("scaleout") or []),
        "### 7. Subscriptions: events consumed from each broker, beside webhook ingest "
        "(same run, SQLite, ingest only; x = over the mean of the two webhook rows)\n\n"
        + _ran(results, "subscriptions")
        + table(results.get("subscriptions") or []),
        "### 8. Journey simulation (`groundcontrol simulate --synthetic N --days 28`, "
        "a fresh process timed from outside; cpu_s includes its workers)\n\n"
        + _ran(results, "simulation")
        + table(results.get("simulation") or []),
        "### 9. A poison sender beside valid traffic (open loop, SQLite, one service, "
        "same run)\n\n" + _ran(results, "poison") + table(results.get("poison") or []),
        "### 10. The golden thread at scale (PostgreSQL; store calls as the handlers make "
        "them; p50_over_count = p50 over the same run's bare count(*))\n\n"
        + _ran(results, "golden_thread")
        + _golden_thread_tables(results.get("golden_thread")),
    ]
    images = charts(results)
    sections += [f"![{name}](benchmarks/{name})\n" for name in images]
    generated = "\n".join(sections)
    text = DOC.read_text() if DOC.is_file() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{START}\n{generated}\n{END}{tail}")
