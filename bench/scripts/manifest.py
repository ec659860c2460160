#!/usr/bin/env python3
"""Write a run folder's manifest.json: what was run, on which commit, on which machine.

  manifest.py start OUT --command "scripts/bench.sh 5" [--build DIR] [--note TEXT] [--binary FILE]...
  manifest.py finish OUT          adds the finish time, the load average and the files with the
                                  script that wrote each

The environment knobs of scripts/bench.sh, bench/scripts/*.sh and the anchor kit are recorded
as they were set (null when unset), so the run can be repeated exactly. Standard library only.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys

KNOBS = [
    "TAPSTACK_BENCH_SKIP", "TAPSTACK_BENCH_OFFLOAD", "TAPSTACK_BENCH_OUT", "TAPSTACK_BENCH_BUILD",
    "TAPSTACK_JOBS", "BENCH_ANCHORS", "TARGETS", "MIB", "RTT", "CONNS", "UDP", "BASE_ARGS", "NEW_ARGS",
    "COMPARE_NS",
]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*cmd):
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_average():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return None


def machine():
    model = None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = os.cpu_count()
    return {
        "description": f"{cpus} CPUs, {model or platform.machine()}",
        "cpu_model": model,
        "cpus": cpus,
        "kernel": platform.release(),
    }


def sha256(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def cmake_cache(build):
    """CMAKE_CXX_COMPILER, CMAKE_BUILD_TYPE and CMAKE_CXX_FLAGS of the build tree holding BIN."""
    found = {}
    if not build:
        return found
    for d in (build, os.path.dirname(os.path.abspath(build))):
        try:
            for line in open(os.path.join(d, "CMakeCache.txt")):
                name, sep, value = line.strip().partition("=")
                key = name.split(":")[0]
                if sep and key in ("CMAKE_CXX_COMPILER", "CMAKE_BUILD_TYPE", "CMAKE_CXX_FLAGS"):
                    found[key] = value
            break
        except OSError:
            continue
    return found


def start(args):
    status = run("git", "status", "--short", "--untracked-files=no")
    cache = cmake_cache(args.build)
    kit = os.environ.get("BENCH_ANCHORS") or os.path.join(os.path.dirname(ROOT), "shared", "bench-anchors")
    m = {
        "run": os.path.basename(os.path.abspath(args.out)),
        "started": now(),
        "commit": run("git", "rev-parse", "--short", "HEAD"),
        "commit_full": run("git", "rev-parse", "HEAD"),
        "uncommitted_changes": status.splitlines() if status else [],
        "command": args.command,
        "command_line": " ".join([f"{k}={shlex.quote(os.environ[k])}" for k in KNOBS if k in os.environ] +
                                 [f"bash {args.command}"]),
        "environment": {k: os.environ.get(k) for k in KNOBS},
        "build": args.build,
        "cmake": cache,
        "compiler": (run(cache.get("CMAKE_CXX_COMPILER", "c++"), "--version") or "").split("\n")[0] or None,
        "machine": machine(),
        "load_average_start": load_average(),
        "lwip_version": run("dpkg-query", "-W", "-f=${Version}", "liblwip-dev"),
        "anchor_kit": {
            "path": kit,
            "sha256": {f: sha256(os.path.join(kit, f)) for f in sorted(os.listdir(kit))
                       if f.endswith((".c", ".sh"))} if os.path.isdir(kit) else None,
        },
        "binaries": {b: sha256(b) for b in args.binary},
    }
    if args.note:
        m["note"] = args.note
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")


def finish(args):
    path = os.path.join(args.out, "manifest.json")
    m = json.load(open(path))
    m["finished"] = now()
    m["load_average_end"] = load_average()
    producers = {"memory.jsonl": "bench/scripts/memory.sh", "callgrind.jsonl": "bench/scripts/callgrind.sh",
                 "replay.txt": "bench/scripts/replay.sh"}
    anchors = "bench/scripts/compare.sh" if "compare.sh" in (m.get("command") or "") else "bench/scripts/anchors.sh"
    files = {}
    for d, _, names in os.walk(args.out):
        for n in names:
            p = os.path.relpath(os.path.join(d, n), args.out)
            if p == "manifest.json" or os.path.dirname(p) not in ("", "anchors"):
                continue  # a nested run (e.g. offload-off/) has a manifest of its own
            files[p] = anchors if p.startswith("anchors/") else producers.get(p, "")
    m["files"] = dict(sorted(files.items()))
    with open(path, "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["start", "finish"])
    ap.add_argument("out")
    ap.add_argument("--command")
    ap.add_argument("--build")
    ap.add_argument("--note")
    ap.add_argument("--binary", action="append", default=[])
    args = ap.parse_args()
    (start if args.step == "start" else finish)(args)


if __name__ == "__main__":
    sys.exit(main())
