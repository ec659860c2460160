#!/usr/bin/env python3
"""Parsers and the summary table for bench/many-clients/run.sh.

    summarize.py --stats-json LOG         echo-server's --stats block (the last one) as JSON
    summarize.py --wrk-json < OUT         wrk --latency output as JSON fields (no braces)
    summarize.py --ab-json < OUT          ab output as a JSON object
    summarize.py --echo-client-json < LOG echo-client's summary line and first error, JSON fields
    summarize.py --markdown RESULTS.jsonl the human summary (markdown), tapstack/Linux ratios
"""
import json
import re
import sys

SECTIONS = ("Link", "Arp", "Ip", "Icmp", "Icmp6", "Ip6", "Nd", "Tcp", "Udp", "Runtime")


def stats_json(path):
    out = {}
    section = None
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return {}
    for line in text.splitlines():
        m = re.match(r"^(\w+):$", line)
        if m:
            section = m.group(1) if m.group(1) in SECTIONS else None
            if section:
                out.setdefault(section, {})
            continue
        m = re.match(r"^    (\d+) (.+)$", line)
        if m and section:
            out[section][m.group(2)] = int(m.group(1))
    return out


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return None
    x = float(m.group(1))
    return {"us": x / 1000, "ms": x, "s": x * 1000, "m": x * 60000}[m.group(2)]


def wrk_fields(text):
    f = {"requests_per_s": None, "requests": None, "p50_ms": None, "p75_ms": None, "p90_ms": None, "p99_ms": None,
         "errors_connect": 0, "errors_read": 0, "errors_write": 0, "errors_timeout": 0, "non_2xx": 0}
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"^(50|75|90|99)%\s+(\S+)$", s)
        if m:
            f[f"p{m.group(1)}_ms"] = to_ms(m.group(2))
        m = re.match(r"^Requests/sec:\s+([\d.]+)", s)
        if m:
            f["requests_per_s"] = float(m.group(1))
        m = re.match(r"^(\d+) requests in", s)
        if m:
            f["requests"] = int(m.group(1))
        m = re.match(r"^Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", s)
        if m:
            f["errors_connect"], f["errors_read"], f["errors_write"], f["errors_timeout"] = map(int, m.groups())
        m = re.match(r"^Non-2xx or 3xx responses: (\d+)", s)
        if m:
            f["non_2xx"] = int(m.group(1))
    f["socket_errors"] = f["errors_connect"] + f["errors_read"] + f["errors_write"] + f["errors_timeout"]
    return f


def ab_fields(text):
    f = {"seconds": None, "complete": None, "failed": None, "requests_per_s": None, "connect_max_ms": None,
         "error": None}
    for line in text.splitlines():
        s = line.strip()
        for key, pat, conv in (("seconds", r"^Time taken for tests:\s+([\d.]+)", float),
                               ("complete", r"^Complete requests:\s+(\d+)", int),
                               ("failed", r"^Failed requests:\s+(\d+)", int),
                               ("requests_per_s", r"^Requests per second:\s+([\d.]+)", float)):
            m = re.match(pat, s)
            if m:
                f[key] = conv(m.group(1))
        m = re.match(r"^Total of (\d+) requests completed", s)
        if m:
            f["complete"] = int(m.group(1))
        m = re.match(r"^Connect:\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)$", s)
        if m:
            f["connect_max_ms"] = int(m.group(5))
        m = re.search(r"(apr_\w+: .*|^ab: .*)", s)
        if m and f["error"] is None:
            f["error"] = m.group(1)
    return f


def echo_client_fields(text):
    f = {"summary": None, "ok": None, "failures": None, "seconds": None, "first_error": None, "errors": {}}
    for line in text.splitlines():
        if line.startswith("summary:"):
            f["summary"] = line
            kv = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
            f["ok"] = int(kv.get("ok", 0))
            f["failures"] = int(kv.get("failures", 0))
            f["seconds"] = float(kv.get("seconds", 0))
        elif line.startswith("echo-client:"):
            if f["first_error"] is None:
                f["first_error"] = line
            f["errors"][line] = f["errors"].get(line, 0) + 1
    return f


# ---------------------------------------------------------------- the summary table

def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.{digits}f}"


def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def echo_rows(ts, lx):
    rows = []
    n = ts.get("clients")
    tc, lc = ts.get("client", {}), lx.get("client", {})
    tk, lk = tc.get("counts", {}), lc.get("counts", {})
    rows.append((f"echoed correctly (of {n})", tk.get("ok"), lk.get("ok"), ratio(tk.get("ok"), lk.get("ok"))))
    for k, name in (("eof", "EOF before all data"), ("reset", "reset"), ("refused", "refused"),
                    ("timeout", "timeout"), ("mismatch", "mismatch"), ("other", "other error")):
        rows.append((f"  {name}", tk.get(k), lk.get(k), "-"))
    rows.append(("  of which EOF with no data at all", tc.get("eof_no_data"), lc.get("eof_no_data"), "-"))
    rows.append(("connected at once", tc.get("connected_at_once"), lc.get("connected_at_once"),
                 ratio(tc.get("connected_at_once"), lc.get("connected_at_once"))))
    rows.append(("wall time, s", tc.get("wall_s"), lc.get("wall_s"), ratio(tc.get("wall_s"), lc.get("wall_s"))))
    rows.append(("  connect phase, s", tc.get("connect_phase_s"), lc.get("connect_phase_s"),
                 ratio(tc.get("connect_phase_s"), lc.get("connect_phase_s"))))
    rows.append(("  echo phase, s", tc.get("echo_phase_s"), lc.get("echo_phase_s"),
                 ratio(tc.get("echo_phase_s"), lc.get("echo_phase_s"))))
    t_peak = ts.get("server_peak_rss_kib")
    l_peak = lx.get("server_peak_rss_kib", 0) + max(0, lx.get("kernel_tcp_peak_kib", 0) - lx.get("kernel_tcp_base_kib", 0))
    rows.append(("server peak RSS, MiB (Linux: process + kernel TCP buffers)", t_peak / 1024 if t_peak else None,
                 l_peak / 1024 if l_peak else None, ratio(t_peak, l_peak)))
    rows.append(("  Linux: python process peak RSS, MiB", None, lx.get("server_peak_rss_kib", 0) / 1024, "-"))
    rows.append(("  Linux: kernel TCP socket memory (ss -m: r+w+f), peak - before, MiB", None,
                 max(0, lx.get("kernel_tcp_peak_kib", 0) - lx.get("kernel_tcp_base_kib", 0)) / 1024, "-"))
    t_busy = tc.get("connected_at_once") or 0
    l_busy = lc.get("connected_at_once") or 0
    t_per = (t_peak - ts.get("server_base_rss_kib", 0)) / t_busy if t_busy and t_peak else None
    l_per = (l_peak - lx.get("server_base_rss_kib", 0)) / l_busy if l_busy and l_peak else None
    rows.append(("memory per busy connection, KiB", t_per, l_per, ratio(t_per, l_per)))
    return rows


def table(title, rows, heads=("tapstack", "Linux", "tapstack/Linux")):
    out = [f"### {title}", "", f"| figure | {heads[0]} | {heads[1]} | {heads[2]} |", "|---|---:|---:|---:|"]
    for name, a, b, r in rows:
        out.append(f"| {name} | {fmt(a)} | {fmt(b)} | {r} |")
    out.append("")
    return out


def tcp_counters(stats):
    tcp = stats.get("Tcp", {})
    keys = ("passive connection openings", "resets sent", "buffers refused: memory bound",
            "SYNs dropped: connection limit", "SYNs dropped: SYN backlog full",
            "half-open connections evicted: SYN backlog full", "SYNs dropped: accept queue full",
            "segments retransmitted", "retransmission timeouts", "connections aborted")
    picked = [(k, tcp[k]) for k in keys if k in tcp]
    picked += [(k, v) for k, v in tcp.items() if "dropped" in k and k not in keys]
    return picked


def markdown(path):
    recs = [json.loads(line) for line in open(path) if line.strip()]
    by = {}
    for r in recs:
        by.setdefault(r.get("figure"), []).append(r)
    out = ["# many clients: tapstack against Linux, one run", ""]
    run = (by.get("run") or [{}])[0]
    out.append(f"commit {run.get('commit')}, {run.get('date')}, kernel {run.get('kernel')}, {run.get('cpus')} CPUs, "
               f"load before the run {run.get('load')}.")
    out.append("")

    for fig, what in (("echo-small", "echo, many small clients"), ("echo-large", "echo, many large clients")):
        rs = by.get(fig, [])
        ts = next((r for r in rs if r["target"] == "tapstack"), None)
        lx = next((r for r in rs if r["target"] == "linux"), None)
        if not ts or not lx:
            continue
        out += table(f"{what}: {ts['clients']} clients x {ts['bytes_each']} B "
                     "(tapstack echo-server over the TAP, Linux python asyncio echo over a veth)",
                     echo_rows(ts, lx))
        counters = tcp_counters(ts.get("server_stats", {}))
        if counters:
            out.append("tapstack echo-server counters (--stats): " + "; ".join(f"{v} {k}" for k, v in counters))
            out.append("")

    rows = []
    for r in by.get("wrk", []):
        if r["target"] != "tapstack":
            continue
        lx = next((x for x in by["wrk"] if x["target"] == "linux" and x["connections"] == r["connections"]), {})
        c = r["connections"]
        rows.append((f"{c} conns: requests/s", r.get("requests_per_s"), lx.get("requests_per_s"),
                     ratio(r.get("requests_per_s"), lx.get("requests_per_s"))))
        rows.append((f"{c} conns: p50 latency, ms", r.get("p50_ms"), lx.get("p50_ms"), ratio(r.get("p50_ms"), lx.get("p50_ms"))))
        rows.append((f"{c} conns: p99 latency, ms", r.get("p99_ms"), lx.get("p99_ms"), ratio(r.get("p99_ms"), lx.get("p99_ms"))))
        rows.append((f"{c} conns: socket errors (connect/read/write/timeout)",
                     f"{r.get('socket_errors')} ({r.get('errors_connect')}/{r.get('errors_read')}/{r.get('errors_write')}/{r.get('errors_timeout')})",
                     f"{lx.get('socket_errors')} ({lx.get('errors_connect')}/{lx.get('errors_read')}/{lx.get('errors_write')}/{lx.get('errors_timeout')})",
                     "-"))
    if rows:
        w = by["wrk"][0]
        out += table(f"wrk keep-alive, {w['seconds']} s each: http-hello ({w['response_bytes']} B response) "
                     "against nginx, one worker, over a veth", rows, ("http-hello", "nginx", "http-hello/nginx"))
        srv = {r["target"]: r for r in by.get("wrk-server", [])}
        if srv:
            out.append(f"http-hello still running after wrk: {srv.get('tapstack', {}).get('alive_after')}; peak RSS "
                       f"http-hello {fmt(srv.get('tapstack', {}).get('server_peak_rss_kib', 0) / 1024)} MiB, nginx "
                       f"(master + worker) {fmt(srv.get('linux', {}).get('server_peak_rss_kib', 0) / 1024)} MiB")
            out.append("")

    rs = by.get("short", [])
    ts = next((r for r in rs if r["target"] == "tapstack"), None)
    lx = next((r for r in rs if r["target"] == "linux"), None)
    if ts and lx:
        lc = lx.get("client", {})
        n = lc.get("connections")
        rows = [(f"connections echoed (of {n})", ts.get("ok"), lc.get("counts", {}).get("ok"),
                 ratio(ts.get("ok"), lc.get("counts", {}).get("ok"))),
                ("wall time, s", ts.get("seconds"), lc.get("wall_s"), ratio(ts.get("seconds"), lc.get("wall_s"))),
                ("first error", ts.get("first_error") or "none", lc.get("first_error") or "none", "-")]
        out += table(f"short connections: {n}, {lc.get('concurrency')} at a time, {lc.get('bytes_each')} B each "
                     "(tapstack echo-client over the TAP / python asyncio over a veth, to a kernel echo server)",
                     rows)
        if ts.get("errors"):
            out.append("echo-client errors: " + "; ".join(f"{k}" for k in ts["errors"]))
            out.append("")

    rs = by.get("burst", [])
    ts = next((r for r in rs if r["target"] == "tapstack"), None)
    lx = next((r for r in rs if r["target"] == "linux"), None)
    if ts and lx:
        ta, la = ts.get("ab", {}), lx.get("ab", {})
        rows = [("ab: complete requests", ta.get("complete"), la.get("complete"), ratio(ta.get("complete"), la.get("complete"))),
                ("ab: failed requests", ta.get("failed"), la.get("failed"), "-"),
                ("ab: wall time (until it ended or gave up), s", ts.get("ab_wall_s"), lx.get("ab_wall_s"),
                 ratio(ts.get("ab_wall_s"), lx.get("ab_wall_s"))),
                ("ab: time taken, s", ta.get("seconds"), la.get("seconds"), ratio(ta.get("seconds"), la.get("seconds"))),
                ("ab: requests/s", ta.get("requests_per_s"), la.get("requests_per_s"),
                 ratio(ta.get("requests_per_s"), la.get("requests_per_s"))),
                ("ab: error", ta.get("error") or "none", la.get("error") or "none", "-"),
                ("connect right after, worst of probes, s", ts.get("worst_connect_s"), lx.get("worst_connect_s"),
                 ratio(ts.get("worst_connect_s"), lx.get("worst_connect_s"))),
                ("  every probe, s", " ".join(fmt(x, 3) for x in ts.get("connect_s", [])),
                 " ".join(fmt(x, 3) for x in lx.get("connect_s", [])), "-")]
        out += table("a connect right after a burst of short connections (ab, no keep-alive), http-hello / nginx",
                     rows, ("http-hello", "nginx", "http-hello/nginx"))
    return "\n".join(out) + "\n"


def main():
    mode = sys.argv[1]
    if mode == "--stats-json":
        print(json.dumps(stats_json(sys.argv[2])))
    elif mode == "--wrk-json":
        print(json.dumps(wrk_fields(sys.stdin.read()))[1:-1])
    elif mode == "--ab-json":
        print(json.dumps(ab_fields(sys.stdin.read())))
    elif mode == "--echo-client-json":
        print(json.dumps(echo_client_fields(sys.stdin.read()))[1:-1])
    elif mode == "--markdown":
        sys.stdout.write(markdown(sys.argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
