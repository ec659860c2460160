#!/usr/bin/env python3
"""Print the tables of bench/RESULTS.md's latest section from one run folder's raw data.

Usage: python3 bench/summarize.py bench/results/<date>-<commit> [--offload-off DIR]

Reads, where present (a missing file leaves its table out, a missing figure prints "-"):
  anchors/raw.jsonl              the interleaved TAP rounds (../shared/bench-anchors/run-anchors.sh;
                                 FOLDER/raw.jsonl when FOLDER is the kit's output folder itself)
  offload-off/anchors/raw.jsonl  the same TAP targets with echo-server --offload off (own rounds)
  memory.jsonl                   memory_bench all --json (the bench.sh run)
  memory-*.jsonl                 repeated memory_bench runs: median (min-max) per figure and build
  callgrind.jsonl                instructions per segment (bench/scripts/callgrind.sh)
  replay.txt                     replay_bench 1000000
  manifest.json                  the run's commit, command and machine (printed as the header)

Medians are statistics.median (the mean of the two middle values for an even count), as in the
anchor kit's summary.md. A ratio between two targets is the median of the per-round ratios, the
two measured in the same round. Python 3 standard library only.
"""

import argparse
import json
import os
import re
import statistics
import sys


def read_jsonl(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def fmt(x, nd=2, comma=False):
    if x is None:
        return "-"
    return f"{x:,.{nd}f}" if comma else f"{x:.{nd}f}"


# ---------------------------------------------------------------------------------------------
# Over the TAP

TARGET_NAMES = {
    "kernel-veth": "kernel over veth",
    "tap-null": "null TAP stack",
    "tap-null-offload": "null TAP stack, offload",
    "lwip": "lwIP",
    "basestack": "tapstack before (basestack)",
    "newstack": "tapstack (offload on, the default)",
}


class Rounds:
    """One raw.jsonl: per target, per round, the peer-bench figures."""

    def __init__(self, path):
        self.by = {}
        for r in read_jsonl(path):
            self.by.setdefault(r.get("target"), {})[r.get("run")] = r
        self.rounds = max((len(v) for v in self.by.values()), default=0)

    def has(self, target):
        return target in self.by

    def med(self, target, key):
        return median([r.get(key) for r in self.by.get(target, {}).values()])

    def ratio(self, num, den, key):
        """Median over the rounds of num/den, both measured in that round."""
        a, b = self.by.get(num, {}), self.by.get(den, {})
        values = []
        for run, ra in a.items():
            rb = b.get(run)
            if rb is None:
                continue
            x, y = ra.get(key), rb.get(key)
            if isinstance(x, (int, float)) and isinstance(y, (int, float)) and y:
                values.append(x / y)
        return median(values)


def tap_row(name, rounds, target, bold=False):
    cells = [
        name,
        fmt(rounds.med(target, "bulk_gbps")),
        fmt(rounds.med(target, "sink_gbps")),
        fmt(rounds.med(target, "tcp_rtt_p50_us"), 1),
        fmt(rounds.med(target, "conn_per_s"), 0, comma=True),
        fmt(rounds.med(target, "udp_rtt_p50_us"), 1),
    ]
    if bold:  # the stack under test, as RESULTS.md shows it
        cells = [f"**{c}**" for c in cells]
    return "| " + " | ".join(cells) + " |"


def tap_tables(main, off, lwip_version):
    out = []
    out.append(f"### Over the TAP (medians of {main.rounds} interleaved rounds; "
               "ratios are medians of the per-round ratios)")
    out.append("")
    out.append("| target | bulk Gbit/s | sink Gbit/s | TCP RTT p50 us | conn/s | UDP RTT p50 us |")
    out.append("|---|---|---|---|---|---|")
    for t in ["kernel-veth", "tap-null", "tap-null-offload", "lwip", "basestack", "newstack"]:
        if not main.has(t):
            continue
        name = TARGET_NAMES[t]
        if t == "newstack" and main.has("basestack"):  # bench/scripts/compare.sh: two builds
            name = "tapstack after (newstack)"
        if t == "lwip" and lwip_version:  # the Debian package's version, e.g. 2.1.3+dfsg1-2
            name = "lwIP " + re.split(r"[+~-]", lwip_version)[0]
        out.append(tap_row(name, main, t, bold=(t == "newstack")))
    if off is not None and off.has("newstack"):
        own = []
        if off.has("tap-null"):
            own.append(f"null {fmt(off.med('tap-null', 'bulk_gbps'))}")
        if off.has("lwip"):
            own.append(f"lwIP {fmt(off.med('lwip', 'bulk_gbps'))} / {fmt(off.med('lwip', 'sink_gbps'))}")
        name = "tapstack `--offload off`" + (f" (its own rounds: {', '.join(own)})" if own else "")
        out.append(tap_row(name, off, "newstack"))
    out.append("")

    # The issue #7 targets: (text, figure, reference target, bound, at least?, which rounds)
    goals = [
        ("bulk >= 0.7x the offloaded null stack", "bulk_gbps", "tap-null-offload", 0.7, True, "main"),
        ("bulk >= 2.5x lwIP", "bulk_gbps", "lwip", 2.5, True, "both"),
        ("bulk >= 0.8x the null stack without offloads", "bulk_gbps", "tap-null", 0.8, True, "off"),
        ("sink >= 0.5x the kernel over veth", "sink_gbps", "kernel-veth", 0.5, True, "main"),
        ("sink >= 2.5x lwIP", "sink_gbps", "lwip", 2.5, True, "both"),
        ("TCP echo RTT p50 <= 1.1x the null stack", "tcp_rtt_p50_us", "tap-null", 1.1, False, "both"),
        ("UDP echo RTT p50 <= 1.1x the null stack", "udp_rtt_p50_us", "tap-null", 1.1, False, "both"),
        ("connections/s >= 0.9x the null stack", "conn_per_s", "tap-null", 0.9, True, "both"),
    ]

    def meets(x, bound, at_least):
        return None if x is None else (x >= bound if at_least else x <= bound)

    out.append("| issue #7 target | measured (same rounds) | status |")
    out.append("|---|---|---|")
    for text, key, ref, bound, at_least, which in goals:
        on = main.ratio("newstack", ref, key) if which in ("main", "both") else None
        of = off.ratio("newstack", ref, key) if off is not None and which in ("off", "both") else None
        if on is None and of is None:
            continue
        if which == "off":
            if off is None:
                continue
            measured, status = f"{fmt(of)}x", meets(of, bound, at_least)
            status = {True: "met", False: "not met", None: "-"}[status]
        else:
            measured = f"{fmt(on)}x" + (f" (offload off: {fmt(of)}x)" if of is not None else "")
            a, b = meets(on, bound, at_least), meets(of, bound, at_least)
            if a is None:
                status = "-"
            elif of is None or a == b:
                status = "met" if a else "not met"
            else:
                status = "met with offload; not without" if a else "not met with offload; met without"
        out.append(f"| {text} | {measured} | {status} |")
    out.append("")
    return out


# ---------------------------------------------------------------------------------------------
# In memory


def memory_tables(folder):
    path = os.path.join(folder, "memory.jsonl")
    if not os.path.exists(path):
        return []
    run = {r["bench"]: r for r in read_jsonl(path)}

    def v(name):
        r = run.get(name)
        return r.get("value") if r else None

    # repeated sets: memory-*.jsonl, grouped by file and by the "build" field when there is one
    sets = []
    for name in sorted(os.listdir(folder)):
        if re.fullmatch(r"memory-.+\.jsonl", name):
            groups = {}
            for r in read_jsonl(os.path.join(folder, name)):
                groups.setdefault(r.get("build", ""), {}).setdefault(r["bench"], []).append(r["value"])
            for build, figures in groups.items():
                sets.append((name + (f" build {build}" if build else ""), figures))

    def spread(bench, scale=1.0, nd=1, suffix=""):
        parts = []
        for label, figures in sets:
            values = figures.get(bench)
            if values:
                parts.append("{}: {}{} ({}-{}{}), n={}".format(
                    label, fmt(statistics.median(values) * scale, nd), suffix, fmt(min(values) * scale, nd),
                    fmt(max(values) * scale, nd), suffix, len(values)))
        return "; ".join(parts)

    def cell(run_figure, bench, scale=1.0, nd=1, suffix=""):
        s = spread(bench, scale, nd, suffix)
        return f"bench.sh run {run_figure}" + (f"; sets: {s}" if s else "")

    cg = {}
    cg_path = os.path.join(folder, "callgrind.jsonl")
    if os.path.exists(cg_path):
        cg = {r["bench"]: r for r in read_jsonl(cg_path)}

    out = ["### In memory (two stacks, one thread; thread CPU time)", ""]
    out.append("| measurement | figures | target (issue #7) |")
    out.append("|---|---|---|")
    out.append("| bulk TCP, MTU 1500, software checksums | {} Gbit/s | >= 20 Gbit/s |".format(
        cell(fmt(v("bulk_tcp_gbit_per_s"), 1), "bulk_tcp_gbit_per_s")))
    if v("bulk_tcp_gbit_per_s_csum_offload") is not None:
        out.append("| the same with the link's checksum offload | {} Gbit/s | |".format(
            cell(fmt(v("bulk_tcp_gbit_per_s_csum_offload"), 1), "bulk_tcp_gbit_per_s_csum_offload")))
    seg = v("segments_per_s_through_receiver")
    out.append(f"| segments/s through the receiving stack | {fmt(seg / 1e6 if seg else None)} M (bench.sh run) "
               "| >= 1 M |")
    pairs = v("connection_open_close_pairs_per_s")
    out.append("| connection open + orderly close pairs/s | {} | >= 200 k |".format(
        cell(fmt(pairs / 1e3 if pairs else None, 0) + " k", "connection_open_close_pairs_per_s", 1e-3, 0, " k")))
    out.append("| established connections / memory per idle connection | {} / {} bytes | 100,000 / <= 4 KiB |".format(
        fmt(v("idle_connections_established"), 0, comma=True), fmt(v("bytes_per_idle_connection"), 0, comma=True)))
    if cg:
        sw = cg.get("callgrind_instructions_per_segment", {}).get("value")
        off = cg.get("callgrind_instructions_per_segment_csum_offload", {}).get("value")
        out.append("| callgrind, `memory_bench bulk 16` | {} Ir per segment, {} with offload | recorded |".format(
            fmt(sw, 0, comma=True), fmt(off, 0, comma=True)))
    out.append("")

    sizes = sorted({int(m.group(1)) for b in run for m in [re.fullmatch(r"lookup_ns_at_(\d+)", b)] if m} |
                   {int(m.group(1)) for b in run for m in [re.fullmatch(r"demux_ns_per_segment_at_(\d+)", b)] if m})
    if sizes:
        out.append("| N connections | " + " | ".join(f"{n:,}" for n in sizes) + " |")
        out.append("|---|" + "---|" * len(sizes))
        rows = [
            ("nodes walked per successful `find()`", "lookup_nodes_walked_at_{}", 2, ""),
            ("`find()`, 64 busy connections", "lookup_64_busy_ns_at_{}", 0, " ns"),
            ("`find()`, every connection at random", "lookup_ns_at_{}", 0, " ns"),
            ("segment end to end (both stacks), 64 busy", "demux_64_busy_ns_per_segment_at_{}", 0, " ns"),
            ("segment end to end, every connection at random", "demux_ns_per_segment_at_{}", 0, " ns"),
        ]
        for label, key, nd, unit in rows:
            values = [v(key.format(n)) for n in sizes]
            if all(x is None for x in values):
                continue
            out.append(f"| {label} | " + " | ".join(
                "-" if x is None else fmt(x, nd, comma=True) + unit for x in values) + " |")
        out.append("")

    loads = sorted(int(m.group(1)) for b in run for m in [re.fullmatch(r"dependent_load_ns_in_(\d+)_mib", b)] if m)
    if loads:
        out.append("| buffer | " + " | ".join(f"{n} MiB" for n in loads) + " |")
        out.append("|---|" + "---|" * len(loads))
        out.append("| one dependent random load | " + " | ".join(
            fmt(v(f"dependent_load_ns_in_{n}_mib"), 0) + " ns" for n in loads) + " |")
        out.append("")
    return out


# ---------------------------------------------------------------------------------------------
# pcap replay


def replay_lines(folder):
    path = os.path.join(folder, "replay.txt")
    if not os.path.exists(path):
        return []
    text = open(path).read()
    frames = re.search(r"frames (\d+)", text)
    wall = re.search(r"replay ([\d.]+) s wall for [\d.]+ s of capture: (\d+) frames/s", text)
    result = re.search(r": (equivalent|not equivalent|\w+): (\d+) flows", text)
    if not (frames and wall):
        return ["### pcap replay", "", "(replay.txt: no figures found)", ""]
    fps = round(int(wall.group(2)), -3)
    verdict = f", {result.group(1)} ({int(result.group(2)):,} flows)" if result else ""
    return ["### pcap replay", "",
            f"`replay_bench`: {int(frames.group(1)):,} frames in {wall.group(1)} s wall "
            f"({fps:,} frames/s){verdict}. Target: under 10 s.", ""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="a run folder, e.g. bench/results/2026-11-25-c1c92a2")
    ap.add_argument("--offload-off", help="the offload-off rounds (default: FOLDER/offload-off if present)")
    args = ap.parse_args()
    folder = args.folder.rstrip("/")
    if not os.path.isdir(folder):
        sys.exit(f"{folder}: not a directory")

    manifest = {}
    if os.path.exists(os.path.join(folder, "manifest.json")):
        manifest = json.load(open(os.path.join(folder, "manifest.json")))
    out = [f"<!-- generated by: python3 bench/summarize.py {folder} -->"]
    if manifest:
        out.append(f"Run `{os.path.basename(folder)}`: commit {manifest.get('commit', '?')}, "
                   f"machine: {manifest.get('machine', {}).get('description', '?')}.")
        out.append("")

    anchors = os.path.join(folder, "anchors", "raw.jsonl")
    if not os.path.exists(anchors):  # a run-anchors.sh output folder itself (e.g. cmp-3rounds/)
        anchors = os.path.join(folder, "raw.jsonl")
    off_dir = args.offload_off or os.path.join(folder, "offload-off")
    off_raw = os.path.join(off_dir, "anchors", "raw.jsonl")
    if os.path.exists(anchors):
        off = Rounds(off_raw) if os.path.exists(off_raw) else None
        out += tap_tables(Rounds(anchors), off, manifest.get("lwip_version"))
    out += memory_tables(folder)
    out += replay_lines(folder)
    print("\n".join(out).rstrip())


if __name__ == "__main__":
    main()
