"""A bounded HTTP load: simulated facilitators marking registers over loopback.

wrk (C; `apt-get install wrk`) drives the load when it is installed, so the load generator takes
little of the machine's CPU from the server it measures; otherwise Python threads do.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit


def run_load(base_url: str, token: str, pairs: list[tuple[int, int]], *, users: int = 50, seconds: int = 60) -> dict:
    """`users` threads each PUT marks for (session, enrolment) pairs for `seconds`; returns latency stats."""
    host = urlsplit(base_url)
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "keep-alive"}

    def facilitator(seed: int) -> tuple[list[float], list[str]]:
        rnd = random.Random(seed)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        mine, errs = [], []
        n = 0
        while time.monotonic() < deadline and n < 100_000:
            n += 1
            session_id, enrolment_id = rnd.choice(pairs)
            body = json.dumps({"status": rnd.choice(["attended", "apologies", "absent"]),
                               "client_mark_id": str(uuid.uuid4()),
                               "marked_at": (datetime(2026, 11, 23, tzinfo=timezone.utc)
                                             + timedelta(microseconds=time.monotonic_ns() // 1000)).isoformat()})
            started = time.perf_counter()
            try:
                conn.request("PUT", f"/api/v1/sessions/{session_id}/attendance/{enrolment_id}", body, headers)
                response = conn.getresponse()
                response.read()
                if response.status not in (200, 201):
                    errs.append(str(response.status))
            except (OSError, http.client.HTTPException) as exc:
                errs.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
            mine.append((time.perf_counter() - started) * 1000)
        conn.close()
        return mine, errs

    return _run_users(facilitator, users, seconds, "python threads")


def run_wrk(base_url: str, token: str, pairs: list[tuple[int, int]], *, users: int = 50,
            seconds: int = 60) -> dict | None:
    """The same load through wrk (one connection per facilitator, back to back); None if wrk is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "load_wrk.lua")
    env = dict(os.environ, GROUPWORK_LOAD_TOKEN=token,
               GROUPWORK_LOAD_PAIRS=" ".join(f"{s}:{e}" for s, e in pairs))
    threads = max(1, min(users, os.cpu_count() or 1))
    out = subprocess.run([wrk, f"-t{threads}", f"-c{users}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
                          base_url], capture_output=True, text=True, env=env, timeout=seconds + 60)
    line = next((l for l in out.stdout.splitlines() if l.startswith("GROUPWORK ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-300:]} {out.stderr[-300:]}")
    r = json.loads(line.split(" ", 1)[1])
    seconds_run = r["duration_us"] / 1e6
    return {"users": users, "requests": r["requests"], "errors": r["errors"] + r["socket_errors"],
            "error_kinds": ([f"{r['errors']} non-2xx"] if r["errors"] else [])
            + ([f"{r['socket_errors']} socket"] if r["socket_errors"] else []),
            "throughput_rps": round(r["requests"] / seconds_run, 1), "median_ms": round(r["p50_us"] / 1000, 2),
            "p95_ms": round(r["p95_us"] / 1000, 2), "tool": f"wrk, {threads} threads"}


def run_paced(base_url: str, token: str, registers: dict[int, list[int]], *, users: int = 50, seconds: int = 60,
              pause: tuple[float, float] = (0.25, 0.75), seed: int = 1) -> dict:
    """Facilitators at a brisk human pace: each opens a register, then taps every parent on it in turn.

    `registers` maps a session id to its enrolment ids. Between two requests a facilitator pauses
    for a random time in `pause` (seconds; 0.5 s on average, faster than anyone taps a tablet).
    Each request's latency is measured; the pauses are not.
    """
    host = urlsplit(base_url)
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sessions = sorted(registers)

    def facilitator(n: int) -> tuple[list[float], list[str]]:
        rnd = random.Random(seed * 1000 + n)
        mine, errs = [], []

        def call(method: str, path: str, body: str | None = None) -> None:
            started = time.perf_counter()
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
            try:
                conn.request(method, path, body, headers)
                response = conn.getresponse()
                response.read()
                if response.status not in (200, 201):
                    errs.append(str(response.status))
            except (OSError, http.client.HTTPException) as exc:
                errs.append(type(exc).__name__)
            finally:
                conn.close()
            mine.append((time.perf_counter() - started) * 1000)

        time.sleep(rnd.uniform(0, pause[1]))  # facilitators do not all start on the same beat
        while time.monotonic() < deadline:
            session_id = rnd.choice(sessions)
            call("GET", f"/api/v1/sessions/{session_id}/register")
            for enrolment_id in registers[session_id]:
                if time.monotonic() >= deadline:
                    break
                time.sleep(rnd.uniform(*pause))
                call("PUT", f"/api/v1/sessions/{session_id}/attendance/{enrolment_id}", json.dumps({
                    "status": rnd.choice(["attended", "attended", "attended", "apologies", "absent"]),
                    "client_mark_id": str(uuid.uuid4()),
                    "marked_at": datetime(2026, 11, 23, tzinfo=timezone.utc).isoformat()}))
            time.sleep(rnd.uniform(*pause))
        return mine, errs

    return _run_users(facilitator, users, seconds, f"python threads, {pause[0]}-{pause[1]} s between requests")


def _run_users(facilitator, users: int, seconds: int, tool: str) -> dict:
    """Run `users` facilitators (each returns its latencies and errors) side by side; their latency stats."""
    from bench.run import summary

    results: list[tuple[list[float], list[str]]] = []
    threads = [threading.Thread(target=lambda n=n: results.append(facilitator(n))) for n in range(users)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    elapsed = time.monotonic() - started
    latencies = [ms for mine, _ in results for ms in mine]
    errors = [e for _, errs in results for e in errs]
    median, p95 = summary(latencies or [0.0])
    return {"users": users, "requests": len(latencies), "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5], "throughput_rps": round(len(latencies) / elapsed, 1),
            "median_ms": round(median, 2), "p95_ms": round(p95, 2), "tool": tool}
