"""What the benchmark scripts share: the builds, free ports, readiness, CPU time, peak RSS."""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The glibc release build (`cargo build --release`, in CARGO_TARGET_DIR if set, as cargo does).
BINARY = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "health-service"
# The static musl build the image ships (.ci/build-musl, or `nix build` on a connected machine).
MUSL_BINARY = ROOT / "target" / "x86_64-unknown-linux-musl" / "release" / "health-service"
# Row names of the two builds, as the scripts print them.
SHIPPED, GLIBC = "musl, shipped", "glibc"


def build_release():
    """`cargo build --release`; a no-op when the build is current."""
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)


def build_musl():
    """`.ci/build-musl`; a no-op when the build is current (the first one takes minutes)."""
    subprocess.run([ROOT / ".ci" / "build-musl", "--quiet"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def builds(names):
    """{name: path} for `names` (a subset of SHIPPED and GLIBC, in that order), each built first."""
    paths = {}
    if SHIPPED in names:
        build_musl()
        paths[SHIPPED] = MUSL_BINARY
    if GLIBC in names:
        build_release()
        paths[GLIBC] = BINARY
    return paths


def floors(names):
    """{name: path} of benches/floor.rs (bare hyper and tokio) built as each of `names` is."""
    paths = {}
    if SHIPPED in names:
        built = subprocess.run([ROOT / ".ci" / "build-musl", "--floor", "--quiet"], cwd=ROOT,
                               check=True, capture_output=True, text=True)
        paths[SHIPPED] = ROOT / built.stdout.strip().splitlines()[-1]
    if GLIBC in names:
        built = subprocess.run(
            ["cargo", "bench", "--no-run", "--bench", "floor", "--message-format=json"],
            cwd=ROOT, check=True, capture_output=True, text=True)
        paths[GLIBC] = Path([
            message["executable"] for message in map(json.loads, built.stdout.splitlines())
            if message.get("reason") == "compiler-artifact" and message.get("executable")
            and message["target"]["name"] == "floor"
        ][-1])
    return paths


def add_builds_argument(parser):
    """`--builds musl,glibc` (the default: both), parsed into names for `builds`."""
    choices = {"musl": SHIPPED, "glibc": GLIBC}

    def parse(text):
        names = [choices.get(word) for word in text.split(",")]
        if None in names or not names:
            raise ValueError(text)
        return [name for name in (SHIPPED, GLIBC) if name in names]

    parse.__name__ = "list of musl and glibc"
    parser.add_argument("--builds", type=parse, default=[SHIPPED, GLIBC],
                        help="which builds to run: musl (the static binary the image ships, "
                             "from .ci/build-musl), glibc (cargo build --release), or both "
                             "(default: musl,glibc)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, path="/livez", timeout=20):
    """Until 127.0.0.1:PORT answers PATH; exits with an error after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"error: nothing answered on port {port} within {timeout} s")


def add_also_argument(parser):
    """`--also NAME=PATH` (repeatable): another health-service binary, such as an older commit's
    build, measured beside `--builds` under NAME; parsed into (NAME, path) pairs."""

    def parse(text):
        name, sep, path = text.partition("=")
        if not (name and sep and Path(path).is_file()):
            raise ValueError(text)
        return name, Path(path).resolve()

    parse.__name__ = "NAME=PATH of an existing binary"
    parser.add_argument("--also", type=parse, action="append", default=[],
                        help="NAME=PATH: another health-service binary to measure beside them")


def seconds(text):
    """A duration as the scripts and wrk's -d take it (`500ms`, `10s`, `1m`, `2h`, or bare
    seconds), in seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text)
    if match is None:
        sys.exit(f"error: {text!r} is not a duration; expected a number with ms, s, m or h")
    number, unit = match.groups()
    return float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[unit]


def cpu_times(pid):
    """(user seconds, system seconds, context switches) of process `pid` so far, its threads'
    included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    switches = sum(int(line.split()[1]) for line in status if "ctxt_switches" in line)
    return int(fields[11]) / tick, int(fields[12]) / tick, switches


def peak_rss_mb(pid):
    """VmHWM, the resident-memory high-water mark, so it covers the whole run."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def to_ms(text):
    """wrk's latency text (`612.00us`, `1.23ms`, `2.00s`) in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(url, duration, connections, headers=(), core=None):
    """wrk -t1 against `url` (pinned to `core` if given); returns (req/s, p50 ms, p99 ms), and exits
    with wrk's output if any answer was not 2xx/3xx or a socket failed."""
    pin = ["taskset", "-c", core] if core is not None else []
    out = subprocess.run(
        [*pin, "wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency", *headers, url],
        check=True, capture_output=True, text=True,
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses: \d+|Socket errors: .*", out)
    if bad:
        sys.exit(f"wrk saw errors: {bad.group(0)}\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    return rps, p50, p99
