#!/usr/bin/env python3
"""Status page benchmark: `GET /status` over 200 targets x 90 days of history.

    python3 benches/status.py                           # the README's tables
    python3 benches/status.py --targets 10 --days 2 --requests 50 --fresh 3 --duration 2s
                                                        # a quick smoke run

`benches/status_fill.rs` fills a store through the library: one result a minute per target for
90 days (200 x 90 x 1440 = 25.9 million results), each target down for half an hour on one day,
with its incident. The monitor then runs on that store, once per build (`--builds`: the static
musl binary the image ships, from .ci/build-musl, and the glibc release build), with the same 200
targets, each probed every `--interval` (10 s: 20 probes a second, against a local target),
pinned to core 0 with taskset, while this script and wrk run on core 1:

1. `--requests` requests to `/status` one at a time (after `--warmup`), first without
   `Accept-Encoding`, then with a browser's (it gets gzip): latency p50 and p99 (client side, request sent to
   body read) and the page's size as sent. Readers within a second share one copy of the page,
   so most of these are served from it.
2. `--fresh` requests with a browser's `Accept-Encoding`, 1.1 s apart: each finds the copy out of
   date, so each is the page read, rendered and compressed anew.
3. wrk, 50 connections with a browser's `Accept-Encoding`, for `--duration`: pages a second and
   latency under load. Meanwhile the monitor keeps probing: afterwards, every target's results
   during the run are read back from the API, and the largest gap between two probes of one
   target is reported against the interval.

It prints the monitor's peak RSS up to the end of the wrk run. Targets (issues 13 and 23): p99 <= 50 ms on one
core, compressed page at least 8 times smaller, at least 5,000 pages a second with p99 < 50 ms,
RSS <= 64 MB, for each build. Needs taskset (util-linux) and wrk; builds with .ci/build-musl,
`cargo build --release` and
`cargo bench --no-run --bench status_fill`.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from common import (ROOT, add_builds_argument, builds, free_port, peak_rss_mb, seconds, wait_ready,
                    wrk)

MONITOR_CORE, CLIENT_CORE = "0", "1"
# Chromium's.
BROWSER = "gzip, deflate, br, zstd"
CONNECTIONS = 50


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def fill(data, targets, days):
    """Runs benches/status_fill.rs in the bench profile; returns its summary line."""
    built = subprocess.run(
        ["cargo", "bench", "--no-run", "--bench", "status_fill", "--message-format=json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    executables = [
        message["executable"]
        for message in map(json.loads, built.stdout.splitlines())
        if message.get("reason") == "compiler-artifact" and message.get("executable")
        and message["target"]["name"] == "status_fill"
    ]
    if not executables:
        sys.exit("error: cargo built no status_fill executable")
    done = subprocess.run([executables[-1], data, str(targets), str(days)],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def timed(connection, headers, count):
    """`count` GETs of /status on `connection`; returns (latencies in ms, last body as sent)."""
    latencies, body = [], b""
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", "/status", headers=headers)
        response = connection.getresponse()
        body = response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            sys.exit(f"error: /status answered {response.status}")
    return latencies, body


def throughput(port, duration):
    """wrk against /status with a browser's Accept-Encoding; returns (pages/s, p50 ms, p99 ms)."""
    return wrk(f"http://127.0.0.1:{port}/status", duration, CONNECTIONS,
               ["-H", f"Accept-Encoding: {BROWSER}"])


def largest_gap(port, targets, start, end, limit):
    """The largest gap in seconds between two probes of one target within [start, end] (epoch
    seconds), the first probe after start and the last before end counting as gap ends, and the
    number of probes in the window."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    worst, probes = 0.0, 0
    for n in range(targets):
        connection.request("GET", f"/api/v1/targets/t{n}/results?limit={limit}")
        response = connection.getresponse()
        results = json.loads(response.read())["results"]
        times = sorted(datetime.fromisoformat(r["at"]).timestamp() for r in results)
        inside = [start] + [t for t in times if start <= t <= end] + [end]
        probes += len(inside) - 2
        worst = max(worst, max(b - a for a, b in zip(inside, inside[1:])))
    return worst, probes


def measure(binary, work, data, args):
    """Runs `binary` monitor on `data`: the page one request at a time, fresh copies, then wrk.
    Returns the figures `report` prints."""
    target_port, port = free_port(), free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "METRICS_PORT": "0"}
    target = subprocess.Popen([binary], env={**env, "PORT": str(target_port), "RUST_LOG": "off"},
                              stdout=subprocess.DEVNULL)
    config = work / "monitor.toml"
    with config.open("w") as f:
        f.write('[monitor]\ntitle = "Status page benchmark"\n')
        for n in range(args.targets):
            group = f"group {n % 5}"
            f.write(f'[[target]]\nname = "t{n}"\nurl = "http://127.0.0.1:{target_port}/health"\n'
                    f'interval = "{args.interval}"\ngroup = "{group}"\n')
    monitor = subprocess.Popen(
        ["taskset", "-c", MONITOR_CORE, binary, "monitor", "--config", config, "--data-dir", data],
        env={**env, "PORT": str(port), "RUST_LOG": "warn"}, stdout=subprocess.DEVNULL,
    )
    try:
        wait_ready(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rows = []
        for label, headers in [("none", {}), (BROWSER, {"Accept-Encoding": BROWSER})]:
            timed(connection, headers, args.warmup)
            latencies, body = timed(connection, headers, args.requests)
            rows.append((label, len(body), latencies))
        fresh = []
        for _ in range(args.fresh):
            time.sleep(1.1)
            fresh += timed(connection, {"Accept-Encoding": BROWSER}, 1)[0]
        # The schedule is steady once every target has had its first probe.
        time.sleep(max(0, seconds(args.interval) - args.fresh * 1.1))
        started = time.time()
        rps, load_p50, load_p99 = throughput(port, args.duration)
        ended = time.time()
        # Before reading the results back, which is not what is measured.
        rss = peak_rss_mb(monitor.pid)
        limit = int((ended - started) / seconds(args.interval)) + 10
        gap, probes = largest_gap(port, args.targets, started, ended, limit)
    finally:
        monitor.send_signal(signal.SIGTERM)
        monitor.wait(timeout=30)
        target.send_signal(signal.SIGTERM)
        target.wait(timeout=30)
    expected = args.targets * (ended - started) / seconds(args.interval)
    return rows, fresh, (rps, load_p50, load_p99, probes, expected, gap, rss)


def report(build, figures, args):
    """Prints one build's tables; returns the targets it missed."""
    rows, fresh, (rps, load_p50, load_p99, probes, expected, gap, rss) = figures
    print(f"\n## {build}\n")
    print("| Accept-Encoding | page KB sent | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    for label, size, latencies in rows:
        print(f"| {label} | {size / 1024:.0f} | {statistics.median(latencies):.2f} "
              f"| {percentile(latencies, 0.99):.2f} |")
    ratio = rows[0][1] / rows[-1][1]
    p99 = max(percentile(latencies, 0.99) for _, _, latencies in rows)
    print(f"\nthe page sent to a browser is {ratio:.1f}x smaller than without Accept-Encoding")
    fresh_p50 = statistics.median(fresh) if fresh else float("nan")
    fresh_max = max(fresh) if fresh else float("nan")
    print(f"fresh copy (read, render, compress; {len(fresh)} requests 1.1 s apart): "
          f"p50 {fresh_p50:.1f} ms, max {fresh_max:.1f} ms")
    print(f"\nwrk -t1 -c{CONNECTIONS} -d{args.duration}, Accept-Encoding: {BROWSER}")
    print("| pages/s | p50 ms | p99 ms | probes in the run (expected) | largest probe gap s | peak RSS MB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {rps:.0f} | {load_p50:.2f} | {load_p99:.2f} | {probes} ({expected:.0f}) "
          f"| {gap:.1f} | {rss:.1f} |")
    missed = []
    if p99 > 50:
        missed.append(f"p99 {p99:.1f} ms > 50 ms")
    if fresh_max > 50:
        missed.append(f"a fresh copy took {fresh_max:.1f} ms > 50 ms")
    if ratio < 8:
        missed.append(f"compressed only {ratio:.1f}x < 8x")
    if rps < 5000:
        missed.append(f"{rps:.0f} pages/s < 5000")
    if load_p99 >= 50:
        missed.append(f"p99 under load {load_p99:.1f} ms >= 50 ms")
    if gap > seconds(args.interval) * 1.5:
        missed.append(f"a target went {gap:.1f} s without a probe (interval {args.interval})")
    if rss > 64:
        missed.append(f"RSS {rss:.1f} MB > 64 MB")
    return [f"{build}: {miss}" for miss in missed]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--fresh", type=int, default=20,
                        help="requests 1.1 s apart, each rendering and compressing anew")
    parser.add_argument("--interval", default="10s", help="each target's probe interval")
    parser.add_argument("--duration", default="10s", help="wrk's -d (seconds: 10s, 1m)")
    add_builds_argument(parser)
    args = parser.parse_args()
    binaries = builds(args.builds)
    os.sched_setaffinity(0, {int(CLIENT_CORE)})

    figures = {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        data = work / "data"
        print(fill(str(data), args.targets, args.days), flush=True)
        # One store for every build: each run adds a few probes per target to it.
        for build, binary in binaries.items():
            figures[build] = measure(binary, work, data, args)

    print(f"{args.targets} targets x {args.days} days, probed every {args.interval}; "
          f"{args.requests} requests after {args.warmup} warm-up per Accept-Encoding")
    missed = [miss for build, figs in figures.items() for miss in report(build, figs, args)]
    print("\ntargets met" if not missed else "\ntargets missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
