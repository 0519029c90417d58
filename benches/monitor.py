#!/usr/bin/env python3
"""Monitor benchmark: 1,000 targets every 10 s against a local target for 60 s.

    python3 benches/monitor.py                          # the README's table
    python3 benches/monitor.py --targets 100 --duration 10s   # a quick smoke run

The target is health-service itself (release build, its `GET /health`), on loopback, with its
request log off so that it costs little. The monitor runs `health-service monitor` (release
build) with one `[[target]]` per target name, all on the same URL, and a fresh store in a
temporary directory. After the warm-up (one interval, so every target has started), the run
measures for `--duration`:

- CPU: the monitor's user + system time over the run, as % of one core (from /proc/PID/stat);
- peak RSS: VmHWM from /proc/PID/status at the end;
- store bytes per result: the store file's size after the monitor stops, over the results it
  holds (counted through /api/v1/targets/NAME/results).

Targets (issue 12): CPU <= 5 % of a core, RSS <= 48 MB. Needs only Python and the Rust toolchain
(the script runs `cargo build --release`).
"""

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from common import BINARY, build_release, free_port, peak_rss_mb, wait_ready

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--interval", default="10s")
    parser.add_argument("--duration", default="60s")
    args = parser.parse_args()
    build_release()
    interval, duration = seconds(args.interval), seconds(args.duration)

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        target_port = free_port()
        base_env = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "METRICS_PORT": "0"}
        target = subprocess.Popen(
            [BINARY], env={**base_env, "PORT": str(target_port), "RUST_LOG": "off"},
            stdout=subprocess.DEVNULL,
        )
        wait_ready(target_port)

        config = work / "monitor.toml"
        with config.open("w") as f:
            f.write('[monitor]\ntitle = "benchmark"\n')
            for n in range(args.targets):
                f.write(
                    f'[[target]]\nname = "t{n}"\nurl = "http://127.0.0.1:{target_port}/health"\n'
                    f'interval = "{args.interval}"\ntimeout = "{min(5.0, interval)}s"\n'
                    'conditions = ["[STATUS] == 200", "[BODY].status == UP"]\n'
                )
        port = free_port()
        data = work / "data"
        monitor = subprocess.Popen(
            [BINARY, "monitor", "--config", config, "--data-dir", data],
            env={**base_env, "PORT": str(port), "RUST_LOG": "warn"},
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_ready(port)
            time.sleep(interval)  # every target has started
            cpu_before, started = cpu_seconds(monitor.pid), time.monotonic()
            time.sleep(duration)
            cpu = (cpu_seconds(monitor.pid) - cpu_before) / (time.monotonic() - started) * 100
            rss = peak_rss_mb(monitor.pid)
            results = 0
            for n in range(args.targets):
                url = f"http://127.0.0.1:{port}/api/v1/targets/t{n}/results?limit=1000"
                results += len(json.load(urllib.request.urlopen(url, timeout=5))["results"])
        finally:
            monitor.send_signal(signal.SIGTERM)
            monitor.wait(timeout=30)
            target.send_signal(signal.SIGTERM)
            target.wait(timeout=30)
        store_bytes = (data / "monitor.redb").stat().st_size

    print(f"targets: {args.targets} every {args.interval}; measured for {args.duration}")
    print("| targets | interval | CPU, % of one core | peak RSS MB | results | store bytes | bytes per result |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.targets} | {args.interval} | {cpu:.2f} | {rss:.1f} | {results} | {store_bytes} "
        f"| {store_bytes / max(results, 1):.0f} |"
    )
    failed = []
    if cpu > 5:
        failed.append(f"CPU {cpu:.2f} % > 5 %")
    if rss > 48:
        failed.append(f"RSS {rss:.1f} MB > 48 MB")
    print("targets met" if not failed else "targets missed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
