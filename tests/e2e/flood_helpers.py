#!/usr/bin/env python3
"""Helpers for the flood and malformed-frame e2e tests (run as /usr/bin/python3 inside the
test's namespace).

    flood_helpers.py echo IP PORT [TIMEOUT]     a kernel TCP client: connect, send, read the
                                                echo back; exit 0 when it all took < TIMEOUT s
    flood_helpers.py synflood IFACE DST_MAC IP PREFIX PORT COUNT
                                                COUNT SYNs at IP:PORT from random ports and
                                                addresses of PREFIX (a /24, "10.201.1"), sent
                                                at layer 2 on IFACE
    flood_helpers.py garbage IFACE DST_MAC SRC_IP IP COUNT SEED
                                                COUNT malformed and random frames (scapy fuzz()
                                                over Ethernet/IP/TCP/UDP/ICMP, truncated headers,
                                                bad lengths/offsets/checksums, illegal flags)
"""
import os
import random
import socket
import sys
import time


def echo(ip, port, timeout=2.0):
    t0 = time.monotonic()
    msg = os.urandom(1000)
    s = socket.create_connection((ip, port), timeout=timeout)
    s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    took = time.monotonic() - t0
    if got != msg:
        print("  echo: got %d of %d bytes back" % (len(got), len(msg)))
        return 1
    if took >= timeout:
        print("  echo took %.2f s" % took)
        return 1
    print("  echo ok in %.3f s" % took)
    return 0


def synflood(iface, dst_mac, ip, prefix, port, count):
    from scapy.all import Ether, IP, TCP, conf  # noqa: imported late: slow
    rnd = random.Random(20000)
    frames = []
    for _ in range(count):
        src = "%s.%d" % (prefix, rnd.randint(3, 254))
        p = Ether(dst=dst_mac, src="02:00:00:%02x:%02x:%02x" % (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))) / \
            IP(src=src, dst=ip) / TCP(sport=rnd.randint(1024, 65535), dport=port, flags="S", seq=rnd.getrandbits(32))
        frames.append(bytes(p))
    s = conf.L2socket(iface=iface)
    t0 = time.monotonic()
    rate = 8000.0  # SYNs per second: 20,000 take about 2.5 s
    for i, f in enumerate(frames):
        s.send(f)
        if i % 50 == 49:
            ahead = (i + 1) / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    s.close()
    print("  sent %d SYNs in %.2f s" % (count, time.monotonic() - t0))
    return 0


def garbage(iface, dst_mac, src_ip, ip, count, seed):
    from scapy.all import Ether, IP, TCP, UDP, ICMP, ARP, Raw, fuzz, conf
    rnd = random.Random(seed)
    random.seed(seed)  # scapy's fuzz() uses the random module
    src_mac = "02:00:00:c8:00:01"
    kinds = []

    def base(l4):
        return Ether(dst=dst_mac, src=src_mac) / IP(src=src_ip, dst=ip) / l4

    def one():
        k = rnd.randrange(12)
        if k == 0:   # everything random above Ethernet
            return Ether(dst=dst_mac, src=src_mac) / fuzz(IP(dst=ip) / rnd.choice([TCP(), UDP(), ICMP()]))
        if k == 1:   # random TCP header fields, sane IP
            return base(fuzz(TCP(dport=rnd.choice([7, 9, 19, 13, rnd.randrange(65536)]))))
        if k == 2:
            return base(fuzz(UDP(dport=rnd.choice([7, 9, 19]))) / Raw(os.urandom(rnd.randrange(64))))
        if k == 3:
            return base(fuzz(ICMP()) / Raw(os.urandom(rnd.randrange(64))))
        if k == 4:   # illegal flag combinations
            return base(TCP(dport=7, sport=rnd.randrange(1024, 65535), flags=rnd.choice(["SF", "SR", "FPU", "SRAFPUEC", "", "RF", "SA", "F"]),
                            seq=rnd.getrandbits(32), ack=rnd.getrandbits(32)) / Raw(b"x" * rnd.randrange(20)))
        if k == 5:   # bad data offset
            return base(TCP(dport=7, dataofs=rnd.choice([0, 1, 4, 15]), flags="S"))
        if k == 6:   # bad IP lengths / IHL
            p = Ether(dst=dst_mac, src=src_mac) / IP(src=src_ip, dst=ip, ihl=rnd.choice([0, 3, 4, 6, 15]),
                                                       len=rnd.choice([0, 10, 19, 21, 1500, 65535])) / UDP(dport=7) / b"hi"
            return p
        if k == 7:   # bad checksums
            l4 = rnd.choice([TCP(dport=7, flags="S", chksum=rnd.randrange(65536)), UDP(dport=7, chksum=rnd.randrange(1, 65536)),
                             ICMP(chksum=rnd.randrange(65536))])
            return Ether(dst=dst_mac, src=src_mac) / IP(src=src_ip, dst=ip, chksum=rnd.choice([None, rnd.randrange(65536)])) / l4 / b"data"
        if k == 8:   # truncated somewhere in the headers
            b = bytes(base(TCP(dport=7, flags="S", options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)])))
            return Raw(b[:rnd.randrange(0, len(b))])
        if k == 9:   # bad UDP length
            return base(UDP(dport=7, len=rnd.choice([0, 1, 7, 9, 500, 65535])) / b"abcdef")
        if k == 10:  # random TCP options
            return base(TCP(dport=7, flags="S")) / Raw(os.urandom(rnd.randrange(1, 40)))
        return Raw(os.urandom(rnd.randrange(1, 200)))  # pure noise, maybe not even Ethernet

    s = conf.L2socket(iface=iface)
    sent = 0
    for _ in range(count):
        try:
            f = bytes(one())
        except Exception:  # scapy sometimes cannot build a fuzzed packet: make another
            f = os.urandom(rnd.randrange(14, 100))
        if len(f) < 14:
            f = f + b"\0" * (14 - len(f))  # the TAP needs at least an Ethernet header's worth
        s.send(f)
        sent += 1
    s.close()
    print("  sent %d malformed frames" % sent)
    return 0


def parse_stats(path):
    """The last netstat-style block in an echo-server log: {section: {label: value}}."""
    blocks, cur, sec = [], None, None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "Link:":
                cur = {}
                blocks.append(cur)
            if cur is None:
                continue
            if line.endswith(":") and not line.startswith(" "):
                sec = line[:-1]
                cur.setdefault(sec, {})
            elif line.startswith("    ") and sec:
                parts = line.strip().split(" ", 1)
                if parts[0].isdigit() and len(parts) == 2:
                    cur[sec][parts[1]] = int(parts[0])
    return blocks[-1] if blocks else {}


def account(path):
    """Conservation of frames: every frame received is a drop counted somewhere or a packet
    delivered upwards, layer by layer. Prints the ledger, exits 1 when a layer does not add up."""
    st = parse_stats(path)
    g = lambda sec, label: st.get(sec, {}).get(label, 0)
    link_in = g("Link", "frames received")
    link_out = (g("Link", "truncated frames dropped") + g("Link", "frames for other hosts dropped")
                + g("Link", "frames of unknown ethertype dropped") + g("Arp", "requests received")
                + g("Arp", "replies received") + g("Arp", "malformed packets dropped")
                + g("Ip", "total packets received") + sum(v for k, v in st.get("Ip6", {}).items() if "total" in k))
    ip_in = g("Ip", "total packets received")
    ip_out = (g("Ip", "with invalid headers") + g("Ip", "with invalid addresses") + g("Ip", "with unknown protocol")
              + g("Ip", "incoming packets delivered") + g("Ip", "fragments dropped") + g("Ip", "martian sources dropped"))
    delivered = g("Ip", "incoming packets delivered")
    upper = (g("Icmp", "ICMP messages received") + g("Tcp", "segments received") + g("Tcp", "bad segments received")
             + g("Udp", "packets received") + g("Udp", "packet receive errors") + g("Udp", "packets to unknown port received"))
    drops = (link_in - ip_in - g("Arp", "requests received") - g("Arp", "replies received")) + (ip_in - delivered) + \
        g("Icmp", "input ICMP message failed") + g("Tcp", "bad segments received") + g("Udp", "packet receive errors") + \
        g("Udp", "packets to unknown port received") + g("Tcp", "resets for segments without a socket")
    print("  link: %d received = %d accounted" % (link_in, link_out))
    print("  ip: %d received = %d accounted" % (ip_in, ip_out))
    print("  ip delivered %d = icmp+tcp+udp %d" % (delivered, upper))
    print("  frames dropped or refused as malformed/unwanted: %d" % drops)
    ok = link_in > 0 and link_in == link_out and ip_in == ip_out and delivered == upper
    with open(path + ".drops", "w") as f:
        f.write("%d\n" % drops)
    return 0 if ok else 1


def main(argv):
    cmd = argv[1]
    if cmd == "echo":
        return echo(argv[2], int(argv[3]), float(argv[4]) if len(argv) > 4 else 2.0)
    if cmd == "synflood":
        return synflood(argv[2], argv[3], argv[4], argv[5], int(argv[6]), int(argv[7]))
    if cmd == "account":
        return account(argv[2])
    if cmd == "garbage":
        return garbage(argv[2], argv[3], argv[4], argv[5], int(argv[6]), int(argv[7]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, socket.timeout) as e:
        print("  error: %s" % e)
        sys.exit(1)
