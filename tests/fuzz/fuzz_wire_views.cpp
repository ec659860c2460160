// libFuzzer target: every view over arbitrary bytes, then encode/parse round trips.
//
// The input is parsed as an Ethernet frame, then ARP or IPv4, then ICMP/UDP/TCP. Checksums rarely
// verify on fuzzed bytes, so TCP is also taken with parse_unchecked() (and the whole input is
// tried as a bare TCP segment) to reach the option decoder. Whatever decodes is re-encoded, and
// parse(encode(x)) must give x back. Sanitizers catch any read past a view's span.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <tapstack/wire/arp.hpp>
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/icmp.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/tcp.hpp>
#include <tapstack/wire/udp.hpp>

using namespace tapstack;
using namespace tapstack::wire;

namespace {

#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            __builtin_printf("check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                              \
        }                                                                              \
    } while (0)

bool same_bytes(bytes a, bytes b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// Folds every byte a view exposes into a value the optimizer cannot drop.
volatile std::uint64_t sink;
void touch(bytes b) {
    std::uint64_t s = 0;
    for (auto x : b) s += static_cast<std::uint8_t>(x);
    sink = sink + s;
}

// What encode() keeps of decoded options: only the SACK blocks that fit in 40 bytes.
tcp_options as_encoded(tcp_options o) {
    tcp_options no_sack = o;
    no_sack.sack_count = 0;
    no_sack.sack = {};
    const std::size_t used = no_sack.encoded_size();
    const std::size_t fit = used + 12 <= tcp_max_options_size ? (tcp_max_options_size - used - 4) / 8 : 0;
    if (o.sack_count > fit) {
        for (std::size_t i = fit; i < o.sack.size(); ++i) o.sack[i] = {};
        o.sack_count = static_cast<std::uint8_t>(fit);
    }
    return o;
}

void tcp_round_trip(const tcp_view& v, const ip::address& src, const ip::address& dst) {
    auto seg = v.decode();
    if (!seg) {
        FUZZ_CHECK(seg.error() == parse_error::bad_option);
        return;
    }
    FUZZ_CHECK(same_bytes(seg->payload, v.payload()));
    std::vector<std::byte> out(seg->encoded_size());
    encode_tcp(*seg, out, src, dst);
    auto again = tcp_view::parse(out, src, dst);
    FUZZ_CHECK(again.has_value());
    auto back = again->decode();
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->source_port == seg->source_port);
    FUZZ_CHECK(back->destination_port == seg->destination_port);
    FUZZ_CHECK(back->seq == seg->seq);
    FUZZ_CHECK(back->ack == seg->ack);
    FUZZ_CHECK(back->flags == seg->flags);
    FUZZ_CHECK(back->window == seg->window);
    FUZZ_CHECK(back->urgent_pointer == seg->urgent_pointer);
    FUZZ_CHECK(back->options == as_encoded(seg->options));
    FUZZ_CHECK(same_bytes(back->payload, seg->payload));
    FUZZ_CHECK(back->options.encoded_size() <= tcp_max_options_size);
}

void tcp_layer(bytes segment, const ip::address& src, const ip::address& dst) {
    if (auto checked = tcp_view::parse(segment, src, dst)) {
        touch(checked->options());
        tcp_round_trip(*checked, src, dst);
    }
    if (auto v = tcp_view::parse_unchecked(segment)) {
        FUZZ_CHECK(v->header_length() >= tcp_min_header_size && v->header_length() <= segment.size());
        touch(v->options());
        touch(v->payload());
        tcp_round_trip(*v, src, dst);
    }
}

void udp_layer(bytes datagram, const ip::address& src, const ip::address& dst) {
    auto v = udp_view::parse(datagram, src, dst);
    if (!v) return;
    FUZZ_CHECK(v->length() >= udp_header_size && v->length() <= datagram.size());
    touch(v->payload());
    std::vector<std::byte> out(udp_header_size + v->payload().size());
    copy_bytes(out, udp_header_size, v->payload());
    udp_header{v->source_port(), v->destination_port()}.encode(out, v->payload().size(), src, dst);
    auto back = udp_view::parse(out, src, dst);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->source_port() == v->source_port() && back->destination_port() == v->destination_port());
    FUZZ_CHECK(same_bytes(back->payload(), v->payload()));
}

void icmp_layer(bytes message) {
    auto v = icmp_view::parse(message);
    if (!v) return;
    touch(v->body());
    std::vector<std::byte> out(message.size());
    copy_bytes(out, icmp_header_size, v->body());
    icmp_header{v->type(), v->code(), v->rest_of_header()}.encode(out, v->body().size());
    // Everything but the checksum is copied; the checksum is recomputed and must verify. (It
    // may differ: when the rest sums to 0xffff both 0x0000 and 0xffff verify, RFC 1624 §3.)
    FUZZ_CHECK(same_bytes(bytes{out}.first(2), message.first(2)));
    FUZZ_CHECK(same_bytes(bytes{out}.subspan(4), message.subspan(4)));
    FUZZ_CHECK(icmp_view::parse(out).has_value());
}

void ipv4_layer(bytes packet) {
    auto v = ipv4_view::parse(packet);
    if (!v) return;
    FUZZ_CHECK(v->total_length() <= packet.size() && v->header_length() <= v->total_length());
    touch(v->options());
    touch(v->payload());
    std::vector<std::byte> out(ipv4_min_header_size);
    ipv4_header h{v->source(),         v->destination(),   v->protocol(), v->ttl(),
                  v->identification(), v->dont_fragment(), v->dscp_ecn()};
    h.encode(out, 0);
    auto back = ipv4_view::parse(out);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->source() == v->source() && back->destination() == v->destination());
    FUZZ_CHECK(back->protocol() == v->protocol() && back->ttl() == v->ttl());
    const ip::address src{v->source()}, dst{v->destination()};
    switch (static_cast<ip_protocol>(v->protocol())) {
    case ip_protocol::icmp: icmp_layer(v->payload()); break;
    case ip_protocol::udp: udp_layer(v->payload(), src, dst); break;
    case ip_protocol::tcp: tcp_layer(v->payload(), src, dst); break;
    default: break;
    }
}

void arp_layer(bytes packet) {
    auto v = arp_view::parse(packet);
    if (!v) return;
    arp_packet p{static_cast<arp_operation>(v->operation()), v->sender_mac(), v->sender_ip(), v->target_mac(),
                 v->target_ip()};
    std::vector<std::byte> out(arp_packet_size);
    p.encode(out);
    FUZZ_CHECK(same_bytes(out, packet.first(arp_packet_size)));
}

// RFC 1071, 16 bits at a time: the fast summation must agree, also when split anywhere.
void checksum_layer(bytes data) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        std::uint32_t w = static_cast<std::uint32_t>(data[i]) << 8;
        if (i + 1 < data.size()) w |= static_cast<std::uint32_t>(data[i + 1]);
        sum += w;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    const auto expected = static_cast<std::uint16_t>(~sum & 0xffff);
    FUZZ_CHECK(internet_checksum(data) == expected);
    if (!data.empty()) {
        const std::size_t cut = static_cast<std::uint8_t>(data[0]) % data.size();
        checksum_accumulator acc;
        acc.add(data.first(cut));
        acc.add(data.subspan(cut));
        FUZZ_CHECK(acc.finish() == expected);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A copy of exactly `size` bytes on the heap, so ASan sees any read past the end.
    std::vector<std::byte> buf(size);
    if (size) std::memcpy(buf.data(), data, size);
    const bytes input{buf};

    if (auto eth = ethernet_view::parse(input)) {
        FUZZ_CHECK(eth->payload().size() + ethernet_header_size == input.size());
        switch (static_cast<ether_type>(eth->type())) {
        case ether_type::arp: arp_layer(eth->payload()); break;
        case ether_type::ipv4: ipv4_layer(eth->payload()); break;
        default: break;
        }
    }
    // Without the link and IP layers, so the fuzzer reaches the TCP code in fewer steps.
    static const ip::address a{ip::address_v4{10, 0, 0, 1}}, b{ip::address_v4{10, 0, 0, 2}};
    tcp_layer(input, a, b);
    udp_layer(input, a, b);
    checksum_layer(input);
    return 0;
}
