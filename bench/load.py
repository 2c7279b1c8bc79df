"""A bounded HTTP load: simulated facilitators marking registers over loopback, with keep-alive connections."""
from __future__ import annotations

import http.client
import json
import random
import statistics
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit


def run_load(base_url: str, token: str, pairs: list[tuple[int, int]], *, users: int = 50, seconds: int = 60) -> dict:
    """`users` threads each PUT marks for (session, enrolment) pairs for `seconds`; returns latency stats."""
    host = urlsplit(base_url)
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "keep-alive"}

    def facilitator(seed: int) -> None:
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
        with lock:
            latencies.extend(mine)
            errors.extend(errs)

    threads = [threading.Thread(target=facilitator, args=(i,)) for i in range(users)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    elapsed = time.monotonic() - started
    ordered = sorted(latencies) or [0.0]
    return {"users": users, "requests": len(latencies), "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5], "throughput_rps": round(len(latencies) / elapsed, 1),
            "median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2), "tool": "python threads"}
