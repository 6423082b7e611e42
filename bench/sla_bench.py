"""SLA business-time benchmark: our engine vs businesstimedelta (the peer).

Calendar (as in the peer study): Mon-Fri 08:00-17:00 Europe/Stockholm, Swedish
holidays public + de_facto.  Inputs: random.Random(--seed), whole-second UTC
instants uniform over 2025-01-01 .. 2028-01-01, drawn in the same order as the
peer script, so both engines see identical instants.

Figures, measured in one run:
  (a)  deadline = start + 12 business hours                 (n for both)
  (b)  elapsed between two random instants over 2025-2027   (peer: --peer-n,
       it walks every business day in between, ~15 ops/s)
  (b') elapsed for ticket-like spans of 0-72 h              (n for both)
Results of both engines are cross-checked on the common samples.

Needs no Django: the engine module is loaded from its file.

    python bench/sla_bench.py [--n 100000] [--peer-n 200] [--seed 20250101]
                              [--write-results bench/RESULTS.md]

Exit status: 0 ok, 1 mismatches between the engines, 2 peer not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

TZ_NAME = "Europe/Stockholm"
RANGE_START = datetime(2025, 1, 1, tzinfo=UTC)
RANGE_END = datetime(2028, 1, 1, tzinfo=UTC)
HOLIDAY_YEARS = range(2024, 2030)  # peer needs holidays past the last deadline
DEADLINE = 12 * 3600
TARGETS = {"a": 100.0, "b": 5000.0}  # minimum ours/peer ratios
ENGINE_PATH = Path(__file__).resolve().parent.parent / "apps" / "policy" / "businesstime.py"
INSTALL_HINT = "pip install businesstimedelta==1.0.1 pytz"


def load_engine() -> ModuleType:
    """Import businesstime.py by path so apps/policy/__init__ (Django) is never run."""
    spec = importlib.util.spec_from_file_location("sla_businesstime", ENGINE_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def load_peer() -> tuple[ModuleType, ModuleType] | None:
    try:
        import businesstimedelta
        import pytz
    except ImportError:
        return None
    return businesstimedelta, pytz


# --------------------------------------------------------------------------- calendars


def europe_spec(bt: ModuleType):
    periods = tuple(bt.Period(wd, 8 * 60, 17 * 60) for wd in range(5))
    return bt.RegionalSpec(
        TZ_NAME, periods, bt.HolidaySource("SE", categories=("public", "de_facto"))
    )


def peer_rules(btd: ModuleType, pytz: ModuleType, holiday_days: frozenset[date]):
    """Same setup as the peer study: one pytz zone for both rules (see btd issue #9)."""
    from datetime import time as wall

    tz = pytz.timezone(TZ_NAME)
    work = btd.WorkDayRule(
        start_time=wall(8), end_time=wall(17), working_days=[0, 1, 2, 3, 4], tz=tz
    )
    return btd.Rules([work, btd.HolidayRule(holiday_days, tz=tz)])


def se_holiday_days(bt: ModuleType, source) -> frozenset[date]:
    return frozenset(d for y in HOLIDAY_YEARS for d in bt.holiday_dates(source, y))


# --------------------------------------------------------------------------- inputs


@dataclass
class Inputs:
    starts: list[datetime]
    pairs_peer: list[tuple[datetime, datetime]]  # full-range pairs, peer-sized
    pairs_full: list[tuple[datetime, datetime]]  # full-range pairs, n-sized (seed + 1)
    spans: list[tuple[datetime, datetime]]  # 0-72 h apart


def rand_instants(rng: random.Random, n: int) -> list[datetime]:
    lo, hi = int(RANGE_START.timestamp()), int(RANGE_END.timestamp())
    return [datetime.fromtimestamp(rng.randrange(lo, hi), UTC) for _ in range(n)]


def make_inputs(*, n: int, peer_n: int, seed: int) -> Inputs:
    """Draw in the peer script's order so equal seeds give equal instants."""
    rng = random.Random(seed)
    starts = rand_instants(rng, n)
    pairs_peer = list(zip(rand_instants(rng, peer_n), rand_instants(rng, peer_n)))
    spans = [(a, a + timedelta(seconds=rng.randrange(0, 72 * 3600))) for a in rand_instants(rng, n)]
    rng_b = random.Random(seed + 1)
    pairs_full = list(zip(rand_instants(rng_b, n), rand_instants(rng_b, n)))
    return Inputs(starts, pairs_peer, pairs_full, spans)


# --------------------------------------------------------------------------- measuring


@dataclass
class Row:
    key: str
    label: str
    ours_ops: float
    ours_n: int
    peer_ops: float
    peer_n: int
    checked: int
    mismatches: int

    @property
    def ratio(self) -> float:
        return self.ours_ops / self.peer_ops if self.peer_ops else float("inf")


def timed(fn: Callable, items: Sequence) -> tuple[float, list]:
    """Ops per second and results of fn over items (one pass, perf_counter)."""
    t0 = time.perf_counter()
    out = [fn(x) for x in items]
    elapsed = time.perf_counter() - t0
    return len(items) / elapsed, out


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bench_deadlines(cal, rules, btd, inputs: Inputs) -> Row:
    delta = btd.BusinessTimeDelta(rules, hours=12)
    ours_ops, ours = timed(lambda s: cal.add_business_time(s, DEADLINE), inputs.starts)
    log(f"(a) ours {ours_ops:,.0f} ops/s; running businesstimedelta on {len(inputs.starts)} ...")
    peer_ops, peer = timed(lambda s: s + delta, inputs.starts)
    bad = sum(1 for x, y in zip(ours, peer) if x != y)
    return Row(
        "a",
        "(a) deadline: start + 12 business hours",
        ours_ops,
        len(ours),
        peer_ops,
        len(peer),
        len(peer),
        bad,
    )


def bench_elapsed(key: str, label: str, cal, rules, *, ours_pairs, peer_pairs) -> Row:
    ours_ops, _ = timed(lambda p: cal.business_time_between(p[0], p[1]), ours_pairs)
    log(f"{key} ours {ours_ops:,.0f} ops/s; running businesstimedelta on {len(peer_pairs)} ...")
    peer_ops, peer = timed(lambda p: rules.difference(p[0], p[1]).timedelta, peer_pairs)
    # the peer returns |b - a|; ours is signed
    ours = [abs(cal.business_time_between(a, b)) for a, b in peer_pairs]
    bad = sum(1 for x, y in zip(ours, peer) if timedelta(seconds=x) != y)
    return Row(key, label, ours_ops, len(ours_pairs), peer_ops, len(peer_pairs), len(peer), bad)


# --------------------------------------------------------------------------- reporting


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | ours ops/s | n | businesstimedelta ops/s | n | ours/peer | mismatches |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.ours_ops:,.0f} | {r.ours_n:,} | {r.peer_ops:,.1f} | {r.peer_n:,} "
            f"| {r.ratio:,.0f}× | {r.mismatches} of {r.checked:,} |"
        )
    return "\n".join(lines)


def target_lines(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        if r.key in TARGETS:
            ok = "met" if r.ratio >= TARGETS[r.key] else "MISSED"
            out.append(
                f"target {r.key}: ours/peer ≥ {TARGETS[r.key]:,.0f}× — {ok} ({r.ratio:,.0f}×)"
            )
    return out


def machine() -> str:
    try:
        cores = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        cores = str(os.cpu_count())
    return f"{platform.platform()}, {platform.machine()}, nproc={cores}, Python {platform.python_version()}"


def write_results(path: Path, *, rows: list[Row], extra: list[str], versions: str) -> None:
    command = "python " + " ".join(
        shlex.quote(a) for a in [os.path.relpath(sys.argv[0])] + sys.argv[1:]
    )
    section = [
        f"## SLA business-time benchmark — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"- command: `{command}`",
        f"- machine: {machine()}",
        f"- versions: {versions}",
        (
            "- calendar: Mon–Fri 08:00–17:00 Europe/Stockholm, SE holidays public + de_facto;"
            " seeded whole-second UTC instants 2025-01-01 … 2028-01-01"
        ),
        "",
        table(rows),
        "",
        *[f"- {line}" for line in extra],
        "",
    ]
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(section) + "\n")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="samples for (a), (b) ours and (b')")
    ap.add_argument(
        "--peer-n", type=int, default=200, help="full-range pairs for the slow peer (b)"
    )
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--write-results", type=Path, metavar="PATH", help="append a markdown section")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    peer = load_peer()
    if peer is None:
        print(
            f"businesstimedelta is not installed; install the peer with: {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    btd, pytz = peer
    bt = load_engine()
    spec = europe_spec(bt)
    rules = peer_rules(btd, pytz, se_holiday_days(bt, spec.holidays))
    inputs = make_inputs(n=args.n, peer_n=args.peer_n, seed=args.seed)

    cal = bt.BusinessCalendar(spec)
    t0 = time.perf_counter()  # cold build of the 2024-2028 tables, reported, not timed below
    cal.business_time_between(RANGE_START - timedelta(days=7), RANGE_END + timedelta(days=14))
    build_ms = (time.perf_counter() - t0) * 1000

    rows = [
        bench_deadlines(cal, rules, btd, inputs),
        bench_elapsed(
            "b",
            "(b) elapsed: two random instants 2025–2027",
            cal,
            rules,
            ours_pairs=inputs.pairs_full,
            peer_pairs=inputs.pairs_peer,
        ),
        bench_elapsed(
            "b'",
            "(b′) elapsed: ticket-like spans 0–72 h",
            cal,
            rules,
            ours_pairs=inputs.spans,
            peer_pairs=inputs.spans,
        ),
    ]
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("holidays", "businesstimedelta", "pytz")
    )
    extra = [f"cold table build (years 2024–2028): {build_ms:.1f} ms", *target_lines(rows)]
    mismatches = sum(r.mismatches for r in rows)
    extra.append(f"cross-check: {mismatches} mismatches between the engines on common samples")
    print(table(rows))
    print()
    for line in extra:
        print(line)
    if args.write_results:
        write_results(args.write_results, rows=rows, extra=extra, versions=versions)
        print(f"appended to {args.write_results}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
