#!/usr/bin/env python3
"""CPU cost per request in instructions, counted by callgrind: repeatable to the instruction.

    python3 benches/instructions.py
    python3 benches/instructions.py --binary /tmp/old/health-service   # another build, to compare

Wall-clock figures on a shared VM drift by ±10% from minute to minute, which hides differences of
a few percent (such as the cost of metrics). Valgrind's callgrind counts the instructions the
server executes instead. Each configuration serves 1,000 and then 3,000 keep-alive requests to
one path in two runs; the difference divided by 2,000 is the cost of one request, start-up and
shutdown cancelling out. Needs valgrind (Debian: valgrind).

`GET /livez` repeats to the instruction and goes through everything every request does (routing,
request id, metrics, log line). `GET /health` adds the report, which is serialized once per
millisecond and shared by the requests within it: under valgrind, some 50 times slower, most
requests make their own, and how many do varies, so its figure moves by a few hundred
instructions from run to run and is close to the cost without sharing. The last column is
`GET /health` sent with a browser's `Accept-Encoding`, which must cost what it costs without:
answers under 1 KB are never compressed, and `/health` does not even read the header.
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
    # What is left of the service on top of poem: benches/floor.rs prices the layers below it.
    "logs and metrics off": {"RUST_LOG": "off", "METRICS_PORT": "0"},
}


# (column, path, request headers)
REQUESTS = [
    ("GET /livez", "/livez", {}),
    ("GET /health", "/health", {}),
    ("GET /health, browser Accept-Encoding", "/health", {"Accept-Encoding": "gzip, deflate, br, zstd"}),
]


def instructions(binary, extra_env, path, headers, requests, work):
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
            conn.request("GET", path, headers=headers)
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
    parser.add_argument("--binary", type=Path, help="measure this build instead of building one")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="comma-separated configurations to measure (default: all)")
    args = parser.parse_args()
    binary = args.binary
    if binary is None:
        build_release()
        binary = BINARY
    print("| configuration | " + " | ".join(column for column, _, _ in REQUESTS) + " |")
    print("| --- |" + " ---: |" * len(REQUESTS))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs.split(","):
            env = CONFIGS[name]
            cells = []
            for _, path, headers in REQUESTS:
                few = instructions(binary, env, path, headers, 1000, Path(tmp))
                many = instructions(binary, env, path, headers, 3000, Path(tmp))
                cells.append(f"{(many - few) // 2000:,}")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
