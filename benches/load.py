#!/usr/bin/env python3
"""Load benchmark: health-service, as shipped and as built for development, against nginx.

    python3 benches/load.py                  # the README's table: 8 rounds of 5 s per server
    python3 benches/load.py --rounds 1 --duration 2s   # a quick smoke run
    python3 benches/load.py --log-dir /tmp   # logs on disk instead of tmpfs
    python3 benches/load.py --log-to pipe    # logs to a pipe read on the server's core
    python3 benches/load.py --also jemalloc=/tmp/hs-jemalloc   # another build beside them
    python3 benches/load.py --builds musl --floor   # and the floor: bare hyper + tokio
    python3 benches/load.py --builds glibc --also baseline=/tmp/old/health-service --browser \
        --only "health-service (glibc),health-service (baseline)"   # two builds, turn by turn,
                                                                     # with a browser's Accept-Encoding

The servers: nginx serving the same JSON as a static string, with its access log; the static
musl binary the image ships (.ci/build-musl); the glibc release build (`cargo build --release`);
and the shipped binary again with METRICS_PORT=0, to price the metrics, and with RUST_LOG=off,
to price the request log (not a production setting). `--builds glibc` measures the glibc build
alone (where the musl one cannot be built), `--also NAME=PATH` adds other builds (another
allocator, say), `--floor` the floor of this stack (benches/floor.rs: hyper and tokio's
current-thread runtime answering the same body to every request, no routing, no log, no metrics),
built as each build is. health-service runs its production defaults: JSON request logs on,
written to a file as nginx's access log is; metrics on.

Every server is pinned to core 0 and wrk to core 1, 50 connections, loopback only. Servers take
turns round by round, in an order that changes every round, and each figure is the median over the
rounds, because a shared VM's speed drifts over a minute; ratios to nginx are taken within each
round, under the same drift. Both servers' logs go to files on tmpfs (/dev/shm) by default:
every line is still formatted and written, but the disk's writeback of one run's tens of
megabytes of log does not slow the runs after it. `--log-dir` puts them elsewhere. `--log-to pipe`
sends both servers' stdout (nginx's access log as `/dev/stdout`, as its official container image
does) into a pipe that `cat` drains on the server's core, as a container's stdout is read by its
host's agent on the same CPU: there nginx's unbuffered log pays a wake-up of the reader per line,
which a tmpfs file does not charge. nginx also runs with `access_log ... buffer=32k`, batching its
lines as health-service batches its own: the like-for-like comparison, printed beside the
target's. Needs taskset, wrk and nginx (Debian: util-linux, wrk, nginx-light).

Targets (issues 6 and 18), for the first build (the shipped one): req/s >= 1.0x nginx's, p99 <=
2x nginx's, peak RSS <= 16 MB, first 200 within 50 ms of exec; metrics cost <= 5 % of req/s.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import (add_also_argument, add_builds_argument, builds, cpu_times, floors, free_port,
                    peak_rss_mb, seconds, wrk)

CONNECTIONS = 50
NGINX = "nginx (static string)"
# nginx with its access log batched as health-service batches its own (telemetry::LineBuffer):
# not the target's comparison, which is nginx as configured by default, but the like-for-like one.
NGINX_BUFFERED = "nginx, access_log buffer=32k"
# The machine's load when the run started: a shared machine's figures depend on it.
LOAD_BEFORE = " ".join(f"{x:.2f}" for x in os.getloadavg())
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
  access_log {access_log};
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


@contextlib.contextmanager
def log_sink(work, pipe):
    """What a server's stdout and stderr go to: a fresh file, or the write end of a pipe that
    `cat` drains to /dev/null on the server's core (the reader's work is the server's cost, as
    in a one-CPU container whose log shipper shares the CPU)."""
    if not pipe:
        with open(work / "server.log", "w") as log:
            yield log, None
        return
    read, write = os.pipe()
    reader = subprocess.Popen(["taskset", "-c", SERVER_CORE, "cat"], stdin=read,
                              stdout=subprocess.DEVNULL)
    os.close(read)
    try:
        yield write, reader.pid
    finally:
        os.close(write)
        reader.wait(timeout=30)


def per_request(before, after, requests):
    """What `cpu_times` counted between two readings, per request: (user µs, system µs,
    switches)."""
    return tuple((b - a) / requests * m for a, b, m in zip(before, after, (1e6, 1e6, 1)))


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


# A browser's Accept-Encoding: /health must cost no more with it (its body is never compressed).
BROWSER_HEADERS = ["-H", "Accept-Encoding: gzip, deflate, br, zstd"]


def load(port, duration, headers=()):
    """Runs wrk on the load core; returns (req/s, p50 ms, p99 ms)."""
    return wrk(f"http://127.0.0.1:{port}/health", duration, CONNECTIONS, headers, core=LOAD_CORE)


def service_name(build):
    return f"health-service ({build})"


def floor_name(build):
    # "musl, shipped" -> "musl": the floor is built as the shipped binary is, but is not it.
    return f"floor ({build.split(',')[0]}): hyper + tokio"


def servers(work, binaries, floor_binaries, pipe):
    """name -> function returning (argv, env) for a fresh run on a free port. `binaries` is
    {build name: path}, the first one also run with metrics and with logs off; `floor_binaries`
    {build name: path} of benches/floor.rs."""
    def nginx(buffered=False):
        def make():
            port = free_port()
            conf = work / "nginx.conf"
            # In pipe mode nginx's stdout is the pipe, as in its official container image.
            access_log = "/dev/stdout" if pipe else work / "access.log"
            if buffered:
                access_log = f"{access_log} combined buffer=32k flush=1s"
            conf.write_text(NGINX_CONF.format(dir=work, port=port, body=BODY, access_log=access_log))
            return ["nginx", "-c", str(conf), "-p", str(work)], {"PORT": str(port)}
        return make

    def service(binary, metrics=True, logs=True):
        def make():
            metrics_port = str(free_port()) if metrics else "0"
            env = {"HOST": "127.0.0.1", "PORT": str(free_port()), "METRICS_PORT": metrics_port}
            if not logs:
                env["RUST_LOG"] = "off"
            return [str(binary)], env
        return make

    first, first_path = next(iter(binaries.items()))
    runs = {NGINX: nginx(), NGINX_BUFFERED: nginx(buffered=True)}
    runs.update({service_name(name): service(path) for name, path in binaries.items()})
    runs[f"{service_name(first)}, metrics off"] = service(first_path, metrics=False)
    # Not a production setting: shows what the per-request log line costs.
    runs[f"{service_name(first)}, logs off"] = service(first_path, logs=False)
    for name, path in floor_binaries.items():
        # The floor reads HOST and PORT only; the other variables change nothing.
        runs[floor_name(name)] = service(path)
    return runs


def only(runs, text):
    """The runs `text` names, comma-separated; names hold commas themselves ("musl, shipped"), so
    at each point the longest name that ends at a comma or the end is taken."""
    chosen, rest = {}, text
    while rest:
        name = max((n for n in runs if rest == n or rest.startswith(n + ",")), key=len, default=None)
        if name is None:
            sys.exit(f"--only: unknown server at {rest!r}; the servers are: " + "; ".join(runs))
        chosen[name] = runs[name]
        rest = rest[len(name) + 1:]
    return chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", default="5s", help="wrk's -d per server per round")
    parser.add_argument("--log-to", choices=["file", "pipe"], default="file",
                        help="file: each server's log to a file in --log-dir (nginx's access log "
                             "too); pipe: both servers' stdout to a pipe read on the server's core, "
                             "as a container's stdout is read by its host")
    parser.add_argument("--log-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="where both servers' logs are written (default: tmpfs at /dev/shm)")
    add_builds_argument(parser)
    add_also_argument(parser)
    parser.add_argument("--browser", action="store_true",
                        help="send a browser's Accept-Encoding with every request")
    parser.add_argument("--only", help="comma-separated servers to run (default: all)")
    parser.add_argument("--floor", action="store_true",
                        help="also run benches/floor.rs, built as each of --builds")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        sys.exit("benches/load.py needs 2 cores: the server on one, wrk on the other")

    # The floor first: cargo also links health-service for a bench, with the dev-dependencies'
    # features, into the path of the shipped binary, which builds() then puts back.
    floor_binaries = floors(args.builds) if args.floor else {}
    binaries = builds(args.builds)
    binaries.update(args.also)
    headers = BROWSER_HEADERS if args.browser else ()
    pipe = args.log_to == "pipe"
    with tempfile.TemporaryDirectory(prefix="health-service-load-", dir=args.log_dir) as tmp:
        work = Path(tmp)
        runs = servers(work, binaries, floor_binaries, pipe)
        if args.only:
            runs = only(runs, args.only)
        results = {name: [] for name in runs}
        names = list(runs)
        for round_ in range(args.rounds):
            # The order changes every round: rotated, and reversed every other round, so over
            # rounds each server runs in each position and before and after each other one.
            shift = round_ // 2 % len(names)
            order = names[shift:] + names[:shift]
            for name in reversed(order) if round_ % 2 else order:
                argv, env = runs[name]()
                with log_sink(work, pipe) as (log, reader):
                    proc, ready_ms = start(argv, {**os.environ, **env}, log)
                    try:
                        counted = [cpu_times(pid) for pid in (proc.pid, reader) if pid]
                        rps, p50, p99 = load(env["PORT"], args.duration, headers)
                        requests = rps * seconds(args.duration)
                        usage = [per_request(before, cpu_times(pid), requests)
                                 for before, pid in zip(counted, (proc.pid, reader))]
                        rss = peak_rss_mb(proc.pid)
                    finally:
                        proc.terminate()
                        proc.wait(timeout=30)
                server_cpu = usage[0]
                reader_cpu = sum(usage[1][:2]) if reader else 0.0
                results[name].append((rps, p50, p99, rss, ready_ms, *server_cpu, reader_cpu))

    med = {name: [statistics.median(col) for col in zip(*rows)] for name, rows in results.items()}
    if args.browser:
        print(f"Accept-Encoding: {BROWSER_HEADERS[1].split(': ')[1]}")
    logs = "to a pipe" if pipe else "in " + (args.log_dir or tempfile.gettempdir())
    print(f"wrk -t1 -c{CONNECTIONS} -d{args.duration}, {args.rounds} rounds, medians; "
          f"server on core {SERVER_CORE}, wrk on core {LOAD_CORE}; logs {logs}; "
          f"load average before: {LOAD_BEFORE}\n")
    print("| server | req/s | p50 ms | p99 ms | peak RSS MB | exec to first 200 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (rps, p50, p99, rss, ready, *_) in med.items():
        print(f"| {name} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {rss:.1f} | {ready:.1f} |")
    # Where each server's time goes: what the kernel does for it (socket, log writes, wake-ups)
    # against its own code, and what the pipe's reader spends on its lines.
    print("\nCPU per request, from /proc/PID/stat and status over the load (medians):\n")
    print("| server | user µs | system µs | context switches | pipe reader µs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (*_, user, system, switches, reader_us) in med.items():
        reader_text = f"{reader_us:.2f}" if pipe else "-"
        print(f"| {name} | {user:.2f} | {system:.2f} | {switches:.3f} | {reader_text} |")
    # Ratios are taken within each round (the servers ran back to back, under the same drift)
    # and then the median over rounds: steadier than the ratio of the medians.
    def ratio(a, b, col):
        return statistics.median(x[col] / y[col] for x, y in zip(results[a], results[b]))

    print()
    built = [service_name(build) for build in binaries if service_name(build) in results]
    for a, b in zip(built, built[1:]):
        print(f"{a} vs {b}, per-round ratios: req/s {ratio(a, b, 0):.3f}, p99 {ratio(a, b, 2):.3f}")
    if NGINX not in results:
        return  # --only without nginx: the comparison of builds above is all there is
    for svc in built + [floor_name(build) for build in floor_binaries]:
        if svc not in results:
            continue
        print(f"{svc} vs nginx, per-round ratios: req/s {ratio(svc, NGINX, 0):.2f}x, "
              f"p99 {ratio(svc, NGINX, 2):.2f}x; peak RSS {med[svc][3]:.1f} MB; "
              f"first 200 after {med[svc][4]:.1f} ms")
    first = service_name(next(iter(binaries)))
    if {first, NGINX_BUFFERED} <= set(results):
        print(f"{first} vs {NGINX_BUFFERED}, per-round ratios: req/s "
              f"{ratio(first, NGINX_BUFFERED, 0):.2f}x, p99 {ratio(first, NGINX_BUFFERED, 2):.2f}x")
    if {first, f"{first}, metrics off"} - set(results):
        return
    metrics = ratio(first, f"{first}, metrics off", 0)
    print(f"{first}, metrics on vs off, per-round ratio of req/s: {metrics:.3f}")
    checks = [
        (f"req/s {ratio(first, NGINX, 0):.2f}x nginx's", ratio(first, NGINX, 0) >= 1.0, ">= 1.0x"),
        (f"p99 {ratio(first, NGINX, 2):.2f}x nginx's", ratio(first, NGINX, 2) <= 2.0, "<= 2x"),
        (f"peak RSS {med[first][3]:.1f} MB", med[first][3] <= 16, "<= 16 MB"),
        (f"first 200 after {med[first][4]:.1f} ms", med[first][4] <= 50, "<= 50 ms"),
        (f"metrics on/off {metrics:.3f}", metrics >= 0.95, ">= 0.95"),
    ]
    missed = [f"{what} (target {target})" for what, ok, target in checks if not ok]
    print(f"{first}: " + ("targets met" if not missed else "targets missed: " + "; ".join(missed)))


if __name__ == "__main__":
    main()
