"""The README's benchmark table, from the two result files.

    .venv/bin/python -m bench.table [bench/results-sqlite.json bench/results.json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cell(figure: dict) -> tuple[str, str]:
    def num(v):
        return f"{v:.1f}" if isinstance(v, (int, float)) else "-"

    met = {True: " ✓", False: " ✗", None: ""}[figure["met"]]
    extra = figure.get("extra") or {}
    if figure["median_ms"] is None and "peak_mb" in extra:
        return f"{extra['peak_mb']} MB", f"-{met}"
    timing = num(figure["median_ms"]) + (f" ({num(figure['p95_ms'])})" if figure.get("p95_ms") is not None else "")
    if figure["ratio"] is not None:
        return timing, f"{figure['ratio']:.2f}x{met}"
    if "violations" in extra:
        return timing, f"{extra['violations']} violations{met}"
    if "throughput_rps" in extra:
        return timing, f"{extra['throughput_rps']} req/s, {extra['errors']} errors{met}"
    return timing, f"-{met}"


def table(sqlite: dict, postgres: dict) -> str:
    lines = ["| figure | target | SQLite median (p95) ms | SQLite | PostgreSQL median (p95) ms | PostgreSQL |",
             "| --- | --- | --- | --- | --- | --- |"]
    pg = {f["name"]: f for f in postgres["figures"]}
    for f in sqlite["figures"]:
        other = pg.get(f["name"])
        a, b = _cell(f)
        c, d = _cell(other) if other else ("-", "-")
        name = " ".join(f["name"].split())
        lines.append(f"| {name} | {f['target']} | {a} | {b} | {c} | {d} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    paths = argv or [str(ROOT / "bench" / "results-sqlite.json"), str(ROOT / "bench" / "results.json")]
    sqlite, postgres = (json.loads(Path(p).read_text()) for p in paths)
    print(f"Generated in {sqlite['generation_s']} s on SQLite, {postgres['generation_s']} s on PostgreSQL "
          f"({sqlite['date'][:10]}, {sqlite['machine']['cpus']} cores, {sqlite['machine']['platform']}, "
          f"Python {sqlite['machine']['python']}).\n")
    print(table(sqlite, postgres))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
