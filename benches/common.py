"""What the benchmark scripts share: the release build, free ports, readiness, peak RSS."""

import http.client
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "health-service"


def build_release():
    """`cargo build --release`; a no-op when the build is current."""
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)


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


def peak_rss_mb(pid):
    """VmHWM, the resident-memory high-water mark, so it covers the whole run."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
