"""The benchmark: every figure as a ratio to a floor measured in the same run, on the same database.

    .venv/bin/python -m bench.run                 # full scale on SQLite
    .venv/bin/python -m bench.run --postgres      # full scale on PostgreSQL (TEST_DATABASE_URL or local)
    .venv/bin/python -m bench.run --quick         # small data, no targets (CI keeps it working)

Writes bench/results.json and prints a table.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 22)


@dataclass
class Figure:
    name: str
    median_ms: float | None = None
    p95_ms: float | None = None
    floor_ms: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    extra: dict = field(default_factory=dict)


def timed(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    """Milliseconds per call, after a warm-up."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def timed_together(fns: dict[str, Callable[[], object]], repeat: int, warmup: int = 3) -> dict[str, list[float]]:
    """Milliseconds per call of each function, taking turns (a, b, a, b...) after a warm-up.

    A figure and its floor are sampled alternately, so load from anything else on the machine
    falls on both alike instead of on whichever happened to run during it.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t) * 1000)
    return out


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def compare(name: str, target_samples: list[float], floor_samples: list[float], limit: float | None,
            quick: bool, **extra) -> Figure:
    """A figure from the target's and the floor's samples; `limit` is the highest acceptable ratio."""
    med, p95 = summary(target_samples)
    floor, _ = summary(floor_samples)
    ratio = med / floor if floor else None
    met = None if quick or limit is None or ratio is None else ratio <= limit
    return Figure(name, round(med, 3), round(p95, 3), round(floor, 3), round(ratio, 2) if ratio else None,
                  f"<= {limit}x" if limit else "", met, extra)


class QueryCounter:
    """Counts SQL statements sent on an engine."""

    def __init__(self, engine):
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *args, **kwargs):
        self.count += 1

    def measure(self, fn) -> int:
        before = self.count
        fn()
        return self.count - before


def database_url(args) -> tuple[str, Callable[[], None]]:
    """A fresh database for the run, and how to clean it up."""
    if args.postgres:
        from tests.conftest import _postgres_database  # noqa: WPS433 - shares the throwaway-database helper

        base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
        return _postgres_database(base)
    path = Path(args.sqlite_path)
    if path.exists():
        path.unlink()
    return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data set, no targets")
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL")
    parser.add_argument("--sqlite-path", default="/tmp/groupwork-bench.db")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--only", default="", help="comma-separated figure numbers to run (default: all)")
    parser.add_argument("--trace-memory", action="store_true",
                        help="trace the Python heap while generating (slow; reported as python_heap_peak_mb)")
    parser.add_argument("--load-seconds", type=int, default=60, help="duration of the HTTP load test")
    args = parser.parse_args(argv)

    os.environ.setdefault("GROUPWORK_ENV", "testing")
    from bench import measures
    from bench.generate import Scale, generate

    url, cleanup = database_url(args)
    try:
        from app import create_app
        from app.extensions import db

        # Tracing every allocation makes Python several times slower than it runs in production, so the
        # heap is traced only when asked (--trace-memory), and then only while building and generating.
        if args.trace_memory:
            tracemalloc.start()
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                          "PUBLIC_BASE_URL": "https://bench.groupwork.test",
                          "FIXED_NOW": datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)})
        measures.install_floor_routes(app)
        with app.app_context():
            db.create_all()
            measures.create_floor_table(db)
            started = time.perf_counter()
            counts = generate(db.session, Scale.quick() if args.quick else Scale(), today=TODAY)
            db.session.commit()
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("ANALYZE"))  # fresh statistics after a bulk load, as autovacuum would
            generation_s = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if args.trace_memory else None
        tracemalloc.stop()
        figures = measures.run_all(app, url, quick=args.quick, only={s for s in args.only.split(",") if s},
                                   load_seconds=args.load_seconds if not args.quick else 5)
        result = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "python": platform.python_version(),
                        "cpus": os.cpu_count()},
            "database": "postgresql" if args.postgres else "sqlite",
            "quick": args.quick,
            "data": counts,
            "generation_s": round(generation_s, 1),
            "generation_target": "< 60 s on SQLite",
            "figures": [asdict(f) for f in figures],
            "python_heap_peak_mb": round(peak / 2**20, 1) if peak is not None else None,
            "python_heap_peak_is": "while building the app and generating the data, with --trace-memory "
                                   "(tracing slows generation about fivefold; never on while timing)",
        }
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
        print_table(result)
        failed = [f for f in figures if f.met is False]
        broken = [f for f in figures if f.extra.get("error")]
        return 1 if broken or (failed and not args.quick) else 0
    finally:
        gc.collect()
        cleanup()


def print_table(result: dict) -> None:
    print(f"\nGroupwork benchmark — {result['database']}, {'quick' if result['quick'] else 'full'} data "
          f"({result['data'].get('sessions')} sessions, {result['data'].get('attendance_marks')} marks, "
          f"{result['data'].get('outbox_messages')} messages), generated in {result['generation_s']} s")
    print(f"{'figure':58} {'median ms':>10} {'p95 ms':>9} {'floor ms':>9} {'ratio':>7}  target     met")
    for f in result["figures"]:
        def fmt(v, spec):
            return format(v, spec) if isinstance(v, (int, float)) else "-"
        met = {True: "yes", False: "NO", None: "-"}[f["met"]]
        print(f"{f['name'][:58]:58} {fmt(f['median_ms'], '10.2f')} {fmt(f['p95_ms'], '9.2f')} "
              f"{fmt(f['floor_ms'], '9.2f')} {fmt(f['ratio'], '7.2f')}  {f['target']:10} {met}")
        if f["extra"]:
            print(f"{'':4}{json.dumps(f['extra'])[:150]}")


if __name__ == "__main__":
    sys.exit(main())
