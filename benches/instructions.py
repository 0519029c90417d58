#!/usr/bin/env python3
"""CPU cost per request in instructions, counted by callgrind: repeatable to the instruction.

    python3 benches/instructions.py
    python3 benches/instructions.py --binary target/x86_64-unknown-linux-musl/release/health-service --defaults-only

Wall-clock figures on a shared VM drift by ±10% from minute to minute, which hides differences of
a few percent (such as the cost of metrics). Valgrind's callgrind counts the instructions the
server executes instead. Each configuration serves 1,000 and then 3,000 keep-alive requests to
one path in two runs; the difference divided by 2,000 is the cost of one request, start-up and
shutdown cancelling out. Needs valgrind (Debian: valgrind).

`GET /livez` repeats to the instruction and goes through everything every request does (routing,
request id, metrics, log line). `GET /health` adds the report, which is serialized once per
millisecond and shared by the requests within it: under valgrind, some 50 times slower, most
requests make their own, and how many do varies, so its figure moves by a few hundred
instructions from run to run and is close to the cost without sharing.
"""

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BINARY, build_release, free_port

CONFIGS = {
    "production defaults (logs and metrics on)": {},
    "metrics off (METRICS_PORT=0)": {"METRICS_PORT": "0"},
    "logs off (RUST_LOG=off)": {"RUST_LOG": "off"},
}


PATHS = ["/livez", "/health"]


def instructions(binary, extra_env, path, requests, work):
    """Total instructions of one server run that answers `requests` requests to `path`."""
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "METRICS_PORT": str(free_port()), **extra_env}
    out = work / "callgrind.out"
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(binary)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/livez")
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("the server did not start under valgrind within 60 s")
                time.sleep(0.05)
        for _ in range(requests):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    totals = re.search(rb"^summary: (\d+)", out.read_bytes(), re.MULTILINE)
    return int(totals.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path,
                        help="the binary to count (default: the glibc release build, built first); "
                             "another allocator's build, say")
    parser.add_argument("--defaults-only", action="store_true",
                        help="only the production defaults, not metrics off and logs off")
    args = parser.parse_args()
    if args.binary is None:
        build_release()
    binary = args.binary or BINARY
    configs = {k: v for k, v in CONFIGS.items() if not args.defaults_only or not v}
    print("| configuration | " + " | ".join(f"GET {path}" for path in PATHS) + " |")
    print("| --- |" + " ---: |" * len(PATHS))
    with tempfile.TemporaryDirectory() as tmp:
        for name, env in configs.items():
            cells = []
            for path in PATHS:
                few = instructions(binary, env, path, 1000, Path(tmp))
                many = instructions(binary, env, path, 3000, Path(tmp))
                cells.append(f"{(many - few) // 2000:,}")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
