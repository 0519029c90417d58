#!/usr/bin/env python3
"""Monitor benchmark: 1,000 targets every 10 s against a local target for 60 s.

    python3 benches/monitor.py                          # the README's table
    python3 benches/monitor.py --agents 2               # 3 locations: the monitor and 2 agents
    python3 benches/monitor.py --targets 100 --duration 10s   # a quick smoke run
    python3 benches/monitor.py --builds musl --rounds 3 --also old=/path/to/health-service

The target is health-service itself (its `GET /health`), on loopback, with its request log off so
that it costs little. Everything runs for each build (`--builds`: the static musl binary the image
ships, from .ci/build-musl, and the glibc release build, `cargo build --release`; `--also
NAME=PATH` adds another binary, such as an older commit's build). With `--rounds N` each build runs
N times, the builds taking turns, and the CPU figures are the medians. The monitor runs
`health-service monitor` (release build) with one `[[target]]` per target name, all on the same
URL, and a fresh store in a temporary directory. After the warm-up (one interval, so every target
has started), the run measures for `--duration`:

- CPU: the monitor's user + system time over the run, as % of one core (from /proc/PID/stat);
- peak RSS: VmHWM from /proc/PID/status at the end;
- store bytes per result: the store file's size after the monitor stops, over the results it
  holds (counted through /api/v1/targets/NAME/results).

With `--agents N`, N agents (`health-service agent`, release build, locations a1, a2, ...) run
beside it on loopback, and the monitor's config names them as [[location]]s: every round is then
N + 1 probes, N of them through the agents. Each agent's CPU and peak RSS are measured like the
monitor's, over the same run; results and store bytes count rounds (one per target and interval).

Targets (issue 12): CPU <= 5 % of a core, RSS <= 48 MB. With agents (issue 19): the monitor
<= 8 % of a core, each agent <= 4 %, every RSS <= 48 MB, for each build. Needs only Python and the builds.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from common import (add_also_argument, add_builds_argument, builds, cpu_times, free_port,
                    peak_rss_mb, seconds, wait_ready)


def measure(binary, args, interval, duration):
    """Runs the target, the agents and the monitor from `binary`; returns ([(process, CPU %,
    peak RSS MB)], rounds, store bytes)."""
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        target_port = free_port()
        base_env = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "METRICS_PORT": "0"}
        target = subprocess.Popen(
            [binary], env={**base_env, "PORT": str(target_port), "RUST_LOG": "off"},
            stdout=subprocess.DEVNULL,
        )
        wait_ready(target_port)

        token = "benchmark-token-" + "0" * 32
        agents = []
        for n in range(args.agents):
            agent_port = free_port()
            agent = subprocess.Popen(
                [binary, "agent"],
                env={**base_env, "PORT": str(agent_port), "RUST_LOG": "warn",
                     "AGENT_TOKEN": token, "MONITOR_LOCATION": f"a{n + 1}"},
                stdout=subprocess.DEVNULL,
            )
            agents.append((f"a{n + 1}", agent_port, agent))
        for _, agent_port, _ in agents:
            wait_ready(agent_port)

        config = work / "monitor.toml"
        with config.open("w") as f:
            f.write('[monitor]\ntitle = "benchmark"\n')
            for name, agent_port, _ in agents:
                f.write(
                    f'[[location]]\nname = "{name}"\nurl = "http://127.0.0.1:{agent_port}"\n'
                    f'token = "{token}"\n'
                )
            for n in range(args.targets):
                f.write(
                    f'[[target]]\nname = "t{n}"\nurl = "http://127.0.0.1:{target_port}/health"\n'
                    f'interval = "{args.interval}"\ntimeout = "{min(5.0, interval)}s"\n'
                    'conditions = ["[STATUS] == 200", "[BODY].status == UP"]\n'
                )
        port = free_port()
        data = work / "data"
        monitor = subprocess.Popen(
            [binary, "monitor", "--config", config, "--data-dir", data],
            env={**base_env, "PORT": str(port), "RUST_LOG": "warn", "MONITOR_LOCATION": "decider"},
            stdout=subprocess.DEVNULL,
        )
        processes = [("monitor", monitor)] + [(f"agent {name}", agent) for name, _, agent in agents]
        try:
            wait_ready(port)
            time.sleep(interval)  # every target has started
            before = {name: sum(cpu_times(p.pid)[:2]) for name, p in processes}
            started = time.monotonic()
            time.sleep(duration)
            elapsed = time.monotonic() - started
            measured = [
                (name, (sum(cpu_times(p.pid)[:2]) - before[name]) / elapsed * 100,
                 peak_rss_mb(p.pid))
                for name, p in processes
            ]
            results = 0
            for n in range(args.targets):
                url = (f"http://127.0.0.1:{port}/api/v1/targets/t{n}/results"
                       "?limit=1000&location=decider")
                results += len(json.load(urllib.request.urlopen(url, timeout=5))["results"])
        finally:
            for _, process in processes:
                process.send_signal(signal.SIGTERM)
            for _, process in processes:
                process.wait(timeout=30)
            target.send_signal(signal.SIGTERM)
            target.wait(timeout=30)
        store_bytes = (data / "monitor.redb").stat().st_size
    return measured, results, store_bytes


def median_run(rounds):
    """One build's rounds of `measure` as one: each process's median CPU and highest peak RSS,
    and the last round's results and store bytes (every round runs the same load)."""
    names = [name for name, _, _ in rounds[0][0]]
    measured = [
        (name,
         statistics.median(run[0][i][1] for run in rounds),
         max(run[0][i][2] for run in rounds))
        for i, name in enumerate(names)
    ]
    return measured, rounds[-1][1], rounds[-1][2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--interval", default="10s")
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--agents", type=int, default=0, help="agents beside the monitor")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each build, in alternating order; CPU is their median")
    add_builds_argument(parser)
    add_also_argument(parser)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    binaries = builds(args.builds)
    binaries.update(args.also)
    interval, duration = seconds(args.interval), seconds(args.duration)
    # Builds compared in one invocation take turns, reversed every other round, so that a drift
    # of the machine's speed over the rounds weighs on each alike.
    samples = {build: [] for build in binaries}
    for round_ in range(args.rounds):
        order = list(binaries) if round_ % 2 == 0 else list(reversed(binaries))
        for build in order:
            samples[build].append(measure(binaries[build], args, interval, duration))
    runs = {build: median_run(rounds) for build, rounds in samples.items()}

    locations = args.agents + 1
    print(f"targets: {args.targets} every {args.interval} from {locations} location(s); "
          f"measured for {args.duration}")
    print("| build | process | targets | interval | locations | CPU, % of one core | peak RSS MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for build, (measured, _, _) in runs.items():
        for name, cpu, rss in measured:
            print(f"| {build} | {name} | {args.targets} | {args.interval} | {locations} | {cpu:.2f} "
                  f"| {rss:.1f} |")
    print()
    print("| build | rounds | store bytes | bytes per round |")
    print("| --- | ---: | ---: | ---: |")
    for build, (_, results, store_bytes) in runs.items():
        print(f"| {build} | {results} | {store_bytes} | {store_bytes / max(results, 1):.0f} |")
    monitor_budget = 8 if args.agents else 5
    failed = []
    for build, (measured, _, _) in runs.items():
        for name, cpu, rss in measured:
            budget = monitor_budget if name == "monitor" else 4
            if cpu > budget:
                failed.append(f"{build}: {name} CPU {cpu:.2f} % > {budget} %")
            if rss > 48:
                failed.append(f"{build}: {name} RSS {rss:.1f} MB > 48 MB")
    print("targets met" if not failed else "targets missed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
