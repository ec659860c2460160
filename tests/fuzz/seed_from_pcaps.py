#!/usr/bin/env python3
"""Seeds the fuzzers' corpora from the captures in pcaps/ (plain Python, no scapy needed).

    seed_from_pcaps.py PCAP_DIR OUT_DIR

writes OUT_DIR/fuzz_wire_views/<pcap>-<n>.bin   every frame on its own
       OUT_DIR/fuzz_stack/<pcap>.bin             the frames sent to 10.77.0.1 (the host side of
                                                 the fixtures, the address fuzz_stack uses), in
                                                 fuzz_stack's record format, checksums fixed up
       OUT_DIR/fuzz_pcap_reader/<pcap>           the capture file itself, and a truncated copy
"""
import os
import struct
import sys

HOST_IP = bytes([10, 77, 0, 1])


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        return  # pcapng: the reader fuzzer still gets the file itself
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            break
        yield data[off:off + caplen]
        off += caplen


def main():
    src, out = sys.argv[1], sys.argv[2]
    for d in ("fuzz_wire_views", "fuzz_stack", "fuzz_pcap_reader"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".pcap"):
            continue
        path = os.path.join(src, name)
        base = name[:-5]
        with open(path, "rb") as f:
            raw = f.read()
        with open(os.path.join(out, "fuzz_pcap_reader", name), "wb") as f:
            f.write(raw)
        with open(os.path.join(out, "fuzz_pcap_reader", base + "-cut.pcap"), "wb") as f:
            f.write(raw[: max(24, len(raw) * 2 // 3)])
        records = b""
        for i, fr in enumerate(frames(path)):
            with open(os.path.join(out, "fuzz_wire_views", "%s-%03d.bin" % (base, i)), "wb") as f:
                f.write(fr)
            is_ipv4_to_host = len(fr) >= 34 and fr[12:14] == b"\x08\x00" and fr[30:34] == HOST_IP
            is_arp = len(fr) >= 14 and fr[12:14] == b"\x08\x06"
            if is_ipv4_to_host or is_arp:
                ctl = 0x01 if is_ipv4_to_host else 0x00  # fixup: our addresses, good checksums
                ctl |= 4 << 2                              # 16 ms between frames
                records += bytes([ctl]) + struct.pack(">H", len(fr)) + fr
        if records:
            with open(os.path.join(out, "fuzz_stack", base + ".bin"), "wb") as f:
                f.write(records)
    # The established connection (10.77.0.2:40000 -> 7): data at rcv_nxt, acking snd_nxt
    # (seq/ack relative, ctl bit 1), an application echo, then the peer's FIN.
    def seg(flags, payload=b"", seq=0, ack=0):
        tcp = struct.pack(">HHIIBBHHH", 40000, 7, seq, ack, 5 << 4, flags, 512, 0, 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                         bytes([10, 77, 0, 2]), HOST_IP)
        eth = bytes([2, 0, 0, 0x77, 0, 1, 2, 0, 0, 0x77, 0, 2, 8, 0])
        fr = eth + ip + tcp
        return bytes([0x03 | (2 << 2)]) + struct.pack(">H", len(fr)) + fr
    action = lambda a: bytes([0]) + struct.pack(">H", 0x8000 | a)
    est = (seg(0x18, b"hello", 0, 0) + action(1) + action(0) + seg(0x10, b"", 5, 1000)
           + seg(0x18, b"world", 10, 0) + seg(0x18, b"late!", 5, 0) + action(2) + seg(0x11, b"", 15, 1001)
           + action(3))
    with open(os.path.join(out, "fuzz_stack", "established.bin"), "wb") as f:
        f.write(est)
    return 0


if __name__ == "__main__":
    sys.exit(main())
