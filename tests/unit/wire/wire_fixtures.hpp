#pragma once
// Real frames in the shape Linux sends them (as tcpdump -xx shows them), shared by the wire tests.
// Their checksums were computed independently with scapy 2.5 (`Ether(bytes.fromhex(...))`
// re-dissected: IP 0x73e2/ICMP 0x360a, IP 0xda84/UDP 0x3552, IP 0x9898/TCP 0x1b4f), and the tests
// verify them again with the code under test.
#include <cstddef>
#include <string_view>
#include <vector>

#include <tapstack/ip/address.hpp>

namespace tapstack::test_wire {

inline std::vector<std::byte> from_hex(std::string_view hex) {
    std::vector<std::byte> out;
    auto nibble = [](char c) -> unsigned {
        if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
        if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
        return static_cast<unsigned>(c - 'A' + 10);
    };
    std::size_t i = 0;
    while (i + 1 < hex.size()) {
        if (hex[i] == ' ' || hex[i] == '\n') {
            ++i;
            continue;
        }
        out.push_back(std::byte(static_cast<unsigned char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]))));
        i += 2;
    }
    return out;
}

// 52:54:00:12:34:56 (10.0.0.1) asks who has 10.0.0.2: a 42-byte Linux ARP request on a TAP.
constexpr std::string_view arp_request_hex =
    "ffffffffffff525400123456 0806"
    "0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002";

// ping -c1 10.0.0.2 from iputils: id 0x1c2b, seq 1, 56 data bytes (timeval, then 0x10..0x37).
constexpr std::string_view icmp_echo_request_hex =
    "020000000001525400123456 0800"
    "4500 0054 b2c4 4000 4001 73e2 0a000001 0a000002"
    "08 00 360a 1c2b 0001"
    "60ad446700000000 40e2010000000000"
    "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637";

// echo 'hello, tapstack' | nc -u 10.0.0.2 7, from port 45213.
constexpr std::string_view udp_datagram_hex =
    "020000000001525400123456 0800"
    "4500 002c 4c3a 4000 4011 da84 0a000001 0a000002"
    "b09d 0007 0018 3552"
    "68656c6c6f2c20746170737461636b0a";

// curl http://10.0.0.2/ : SYN with MSS 1460, SACK-permitted, TS 2749380412/0, NOP, WS 7.
constexpr std::string_view tcp_syn_hex =
    "020000000001525400123456 0800"
    "4500 003c 8e21 4000 4006 9898 0a000001 0a000002"
    "bbf8 0050 5a1b2c3d 00000000 a0 02 faf0 1b4f 0000"
    "020405b4 0402 080aa3e0373c00000000 01 030307";

inline const ip::address peer_ip{ip::address_v4{10, 0, 0, 1}};
inline const ip::address our_ip{ip::address_v4{10, 0, 0, 2}};

}  // namespace tapstack::test_wire
