#!/usr/bin/env python3
"""Load benchmark: health-service against nginx serving the same JSON as a static string.

    python3 benches/load.py                  # the README's table: 8 rounds of 5 s per server
    python3 benches/load.py --rounds 1 --duration 2s   # a quick smoke run
    python3 benches/load.py --log-dir /tmp   # logs on disk instead of tmpfs
    python3 benches/load.py --browser --baseline /tmp/old/health-service \
        --only "health-service,baseline build"   # this build against another, turn by turn,
                                                  # with a browser's Accept-Encoding

Every server is pinned to core 0 and wrk to core 1, 50 connections, loopback only. Servers take
turns round by round, in an order that changes every round, and each figure is the median over the
rounds, because a shared VM's speed drifts over a minute. health-service runs its production defaults (JSON request logs on, written
to a file as nginx's access log is; metrics on), then with METRICS_PORT=0 to price the metrics
and with RUST_LOG=off to price the request log. Both servers' logs go to tmpfs (/dev/shm) by
default: every line is still formatted and written, but the disk's writeback of one run's tens of
megabytes of log does not slow the runs after it, and in a container stdout is a pipe, not a
disk. `--log-dir` puts them elsewhere. Needs taskset, wrk and nginx (Debian: util-linux, wrk,
nginx-light); the release build comes from `cargo build --release`.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import BINARY, build_release, free_port, peak_rss_mb

CONNECTIONS = 50
SERVER_CORE, LOAD_CORE = "0", "1"
BODY = json.dumps(
    {
        "nama": "Faiz Muhammad Kautsar",
        "nrp": "5054231013",
        "status": "UP",
        "timestamp": "2026-11-28T04:37:31.429Z",
        "uptime": "1h 2m 3s",
        "uptime_seconds": 3723,
        "version": "0.1.0",
        "revision": "unknown",
    },
    separators=(",", ":"),
)
NGINX_CONF = """
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  fastcgi_temp_path {dir};
  uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{
    listen 127.0.0.1:{port};
    location = /health {{
      default_type application/json;
      return 200 '{body}';
    }}
  }}
}}
"""


def start(argv, env, log):
    """Starts a server pinned to the server core; returns (process, ms from exec to first 200)."""
    port = env["PORT"]
    started = time.monotonic()
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, *argv], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/health"
    while time.monotonic() - started < 10:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return proc, (time.monotonic() - started) * 1000
        except OSError:
            time.sleep(0.0005)
        if proc.poll() is not None:
            sys.exit(f"{argv[0]} exited with {proc.returncode}")
    proc.kill()
    sys.exit(f"{url} not ready within 10 s")


def to_ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


# Chromium's: `/health` must cost the same with it (answers under 1 KB are not compressed).
BROWSER_HEADERS = ["-H", "Accept-Encoding: gzip, deflate, br, zstd"]


def load(port, duration, headers=()):
    """Runs wrk on the load core; returns (req/s, p50 ms, p99 ms)."""
    out = subprocess.run(
        ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}", "--latency",
         *headers, f"http://127.0.0.1:{port}/health"],
        check=True, capture_output=True, text=True,
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses: \d+|Socket errors: .*", out)
    if bad:
        sys.exit(f"wrk saw errors: {bad.group(0)}\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    return rps, p50, p99


def servers(work, binary, baseline=None):
    """name -> function returning (argv, env) for a fresh run on a free port."""
    def nginx():
        port = free_port()
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work, port=port, body=BODY))
        return ["nginx", "-c", str(conf), "-p", str(work)], {"PORT": str(port)}

    def service(metrics=True, logs=True, program=binary):
        def make():
            metrics_port = str(free_port()) if metrics else "0"
            env = {"HOST": "127.0.0.1", "PORT": str(free_port()), "METRICS_PORT": metrics_port}
            if not logs:
                env["RUST_LOG"] = "off"
            return [str(program)], env
        return make

    runs = {
        "nginx (static string)": nginx,
        "health-service": service(),
        "health-service, metrics off": service(metrics=False),
        # Not a production setting: shows what the per-request log line costs.
        "health-service, logs off": service(logs=False),
    }
    if baseline:
        runs["baseline build"] = service(program=baseline)
    return runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", default="5s", help="wrk's -d per server per round")
    parser.add_argument("--log-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="where both servers' logs are written (default: tmpfs at /dev/shm)")
    parser.add_argument("--browser", action="store_true",
                        help="send a browser's Accept-Encoding with every request")
    parser.add_argument("--binary", type=Path, help="measure this build instead of building one")
    parser.add_argument("--baseline", type=Path,
                        help="another build to run as one more server, production defaults")
    parser.add_argument("--only", help="comma-separated servers to run (default: all)")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        sys.exit("benches/load.py needs 2 cores: the server on one, wrk on the other")

    binary = args.binary
    if binary is None:
        build_release()
        binary = BINARY
    headers = BROWSER_HEADERS if args.browser else ()
    with tempfile.TemporaryDirectory(prefix="health-service-load-", dir=args.log_dir) as tmp:
        work = Path(tmp)
        runs = servers(work, binary, args.baseline)
        if args.only:
            runs = {name: runs[name] for name in args.only.split(",")}
        results = {name: [] for name in runs}
        names = list(runs)
        for round_ in range(args.rounds):
            # The order changes every round: rotated, and reversed every other round, so over 8
            # rounds each server runs in each position twice and before and after each other one.
            shift = round_ // 2 % len(names)
            order = names[shift:] + names[:shift]
            for name in reversed(order) if round_ % 2 else order:
                argv, env = runs[name]()
                with open(work / "server.log", "w") as log:
                    proc, ready_ms = start(argv, {**os.environ, **env}, log)
                    try:
                        rps, p50, p99 = load(env["PORT"], args.duration, headers)
                        rss = peak_rss_mb(proc.pid)
                    finally:
                        proc.terminate()
                        proc.wait(timeout=30)
                results[name].append((rps, p50, p99, rss, ready_ms))

    med = {name: [statistics.median(col) for col in zip(*rows)] for name, rows in results.items()}
    if args.browser:
        print(f"Accept-Encoding: {BROWSER_HEADERS[1].split(': ')[1]}")
    print(f"wrk -t1 -c{CONNECTIONS} -d{args.duration}, {args.rounds} rounds, medians; "
          f"server on core {SERVER_CORE}, wrk on core {LOAD_CORE}; logs in {args.log_dir or tempfile.gettempdir()}\n")
    print("| server | req/s | p50 ms | p99 ms | peak RSS MB | exec to first 200 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (rps, p50, p99, rss, ready) in med.items():
        print(f"| {name} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {rss:.1f} | {ready:.1f} |")
    # Ratios are taken within each round (the servers ran back to back, under the same drift)
    # and then the median over rounds: steadier than the ratio of the medians.
    def ratio(a, b, col):
        return statistics.median(x[col] / y[col] for x, y in zip(results[a], results[b]))

    svc, nginx, bare = "health-service", "nginx (static string)", "health-service, metrics off"
    if {svc, "baseline build"} <= set(results):
        print(f"\nthis build vs the baseline, per-round ratios: req/s {ratio(svc, 'baseline build', 0):.3f}, "
              f"p99 {ratio(svc, 'baseline build', 2):.3f}")
    if not {svc, nginx, bare} <= set(results):
        return
    print(f"\nhealth-service vs nginx, per-round ratios: req/s {ratio(svc, nginx, 0):.2f}x (target >= 0.8x), "
          f"p99 {ratio(svc, nginx, 2):.2f}x (target <= 2x); RSS {med[svc][3]:.1f} MB (target <= 16); "
          f"first 200 after {med[svc][4]:.1f} ms (target <= 50)")
    print(f"metrics on vs off, per-round ratio of req/s: {ratio(svc, bare, 0):.3f} (target >= 0.95)")

if __name__ == "__main__":
    main()
