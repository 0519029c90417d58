#!/usr/bin/env python3
"""Status page benchmark: `GET /status` over 200 targets x 90 days of history.

    python3 benches/status.py                           # the README's table
    python3 benches/status.py --targets 10 --days 2 --requests 50   # a quick smoke run

`benches/status_fill.rs` fills a store through the library: one result a minute per target for
90 days (200 x 90 x 1440 = 25.9 million results), each target down for half an hour on one day,
with its incident. The monitor then runs on that store, once per build (`--builds`: the static
musl binary the image ships, from .ci/build-musl, and the glibc release build), with the same 200
targets (probed once an hour, against a local target, so probing costs nothing during the run),
pinned to core 0 with taskset, while this script, on core 1, requests `/status` one request at
a time: first `--warmup` requests, then `--requests` timed ones. It prints the latency p50 and
p99 (client side, request sent to body read), the page's size and the monitor's peak RSS.

Targets (issue 13), for each build: p99 <= 50 ms on one core, RSS <= 64 MB. Needs taskset
(util-linux); builds with .ci/build-musl, `cargo build --release` and
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
from pathlib import Path

from common import ROOT, add_builds_argument, builds, free_port, peak_rss_mb, wait_ready

MONITOR_CORE, CLIENT_CORE = "0", "1"


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


def measure(binary, work, data, args):
    """Runs `binary` monitor on `data`; returns (page bytes, p50 ms, p99 ms, peak RSS MB)."""
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
                    f'interval = "1h"\ngroup = "{group}"\n')
    monitor = subprocess.Popen(
        ["taskset", "-c", MONITOR_CORE, binary, "monitor", "--config", config, "--data-dir", data],
        env={**env, "PORT": str(port), "RUST_LOG": "warn"}, stdout=subprocess.DEVNULL,
    )
    try:
        wait_ready(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, size = [], 0
        for n in range(args.warmup + args.requests):
            started = time.perf_counter()
            connection.request("GET", "/status")
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                sys.exit(f"error: /status answered {response.status}")
            if n >= args.warmup:
                latencies.append(elapsed)
                size = len(body)
        rss = peak_rss_mb(monitor.pid)
    finally:
        monitor.send_signal(signal.SIGTERM)
        monitor.wait(timeout=30)
        target.send_signal(signal.SIGTERM)
        target.wait(timeout=30)
    return size, statistics.median(latencies), percentile(latencies, 0.99), rss


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    add_builds_argument(parser)
    args = parser.parse_args()
    binaries = builds(args.builds)
    os.sched_setaffinity(0, {int(CLIENT_CORE)})

    rows = {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        data = work / "data"
        print(fill(str(data), args.targets, args.days), flush=True)
        # One store for every build: each run adds at most one probe per target to it.
        for build, binary in binaries.items():
            rows[build] = measure(binary, work, data, args)

    print(f"{args.targets} targets x {args.days} days; {args.requests} requests after {args.warmup} warm-up")
    print("| build | targets | days | page KB | p50 ms | p99 ms | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    missed = []
    for build, (size, p50, p99, rss) in rows.items():
        print(f"| {build} | {args.targets} | {args.days} | {size / 1024:.0f} | {p50:.1f} | {p99:.1f} | {rss:.1f} |")
        if p99 > 50:
            missed.append(f"{build}: p99 {p99:.1f} ms > 50 ms")
        if rss > 64:
            missed.append(f"{build}: RSS {rss:.1f} MB > 64 MB")
    print("targets met" if not missed else "targets missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
