#!/usr/bin/env bash
# scripts/check-layers.sh -- the sans-I/O core (stack/) includes nothing from above itself.
# Fails, printing "file:line: includes X (...)" for each offending #include, when a file under
# stack/ includes
#   - Boost.Asio (<boost/asio...>): the core does no I/O; Asio lives in tap/;
#   - anything from tap/ or apps/ (e.g. <tapstack/tap/...>, <tapstack/ip/tcp.hpp>);
#   - a header of a higher layer than its own. The order (docs/architecture.md):
#         base < ip < wire < link < ipv4 = ipv6 < udp = tcp < socket < stack
#     A file's layer is its folder: stack/src/<layer>/ or stack/include/tapstack/<layer>/;
#     tapstack/errc.hpp is base, tapstack/stack.hpp and tapstack/stats.hpp are stack.
#     Peers (ipv4 and ipv6, udp and tcp) may include each other.
# One sanctioned exception: a .cpp (never a header) under stack/src/<layer>/ may include
# "../stack/stack_impl.hpp": the layers' functions still take the one stack object, whose
# definition composes every layer's state. No header may include it.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v python3 >/dev/null || { echo "check-layers: python3 not installed" >&2; exit 2; }
python3 - "$@" <<'EOF'
import os, re, subprocess, sys

ORDER = {"base": 0, "ip": 1, "wire": 2, "link": 3, "ipv4": 4, "ipv6": 4, "udp": 5, "tcp": 5,
         "socket": 6, "stack": 7}
TOP_LEVEL = {"errc.hpp": "base", "stack.hpp": "stack", "stats.hpp": "stack"}
EXCEPTION = "stack/src/stack/stack_impl.hpp"
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(path):
    """The layer of a path inside stack/, or None when it is in none."""
    parts = path.split("/")
    if parts[:3] == ["stack", "include", "tapstack"] and len(parts) >= 4:
        return TOP_LEVEL.get(parts[3]) if len(parts) == 4 else parts[3]
    if parts[:2] == ["stack", "src"] and len(parts) >= 3:
        return parts[2] if len(parts) >= 4 else "stack/src/ itself"
    return None


def resolve(includer, kind, name):
    """Where an include points: ("stack" | "edge" | "missing", path), or (None, None) for
    system and third-party headers."""
    if kind == '"':
        p = os.path.normpath(os.path.join(os.path.dirname(includer), name))
        if os.path.exists(p):
            return ("stack" if p.startswith("stack/") else "edge"), p
    if name.startswith("tapstack/"):
        p = os.path.join("stack/include", name)
        if os.path.exists(p):
            return "stack", p
        for edge in ("tap/include", "apps"):
            if os.path.exists(os.path.join(edge, name)):
                return "edge", os.path.join(edge, name)
        return "missing", name
    return None, None


files = subprocess.run(["git", "ls-files", "stack/*.cpp", "stack/*.hpp", "stack/*.h"],
                       capture_output=True, text=True, check=True).stdout.split()
violations = 0
for f in files:
    if not os.path.exists(f):
        continue
    own = layer_of(f)
    if own is not None and own not in ORDER:
        print(f"{f}:1: is in no known layer ({own}; the order is in scripts/check-layers.sh)")
        violations += 1
        continue
    with open(f, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, name = m.groups()
            shown = f"<{name}>" if kind == "<" else f'"{name}"'
            if name.startswith("boost/asio"):
                print(f"{f}:{n}: includes {shown} (Boost.Asio: the core does no I/O, Asio lives in tap/)")
                violations += 1
                continue
            where, target = resolve(f, kind, name)
            if where == "edge":
                print(f"{f}:{n}: includes {shown} (from tap/ or apps/, above the core)")
                violations += 1
                continue
            if where == "missing":
                print(f"{f}:{n}: includes {shown} (no such header in stack/include)")
                violations += 1
                continue
            if where != "stack" or own is None:
                continue
            theirs = layer_of(target)
            if theirs not in ORDER or ORDER[theirs] <= ORDER[own]:
                continue
            if target == EXCEPTION and f.endswith(".cpp") and f.startswith("stack/src/"):
                continue
            print(f"{f}:{n}: includes {shown} (layer {theirs} above layer {own})")
            violations += 1
if violations:
    print(f"check-layers: {violations} violation(s) of the layer rule (docs/architecture.md)")
sys.exit(1 if violations else 0)
EOF
