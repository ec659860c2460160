#pragma once
// An IPv6 twin of tests/support/harness.hpp: a stack with a global and a link-local address on
// a virtual clock, a recording sink, and a scripted peer that builds IPv6 frames.
#include <gtest/gtest.h>
#include <harness.hpp>
#include <tapstack/wire/icmpv6.hpp>
#include <tapstack/wire/ipv6.hpp>

namespace tapstack::testing {

inline ip::address_v6 v6(std::string_view s) { return *ip::address_v6::from_string(s); }

struct captured6 {
    captured6() = default;
    captured6(captured6&&) = default;
    captured6& operator=(captured6&&) = default;
    frame bytes_;
    link::mac_address eth_dst, eth_src;
    std::uint16_t ether_type = 0;
    std::optional<wire::ipv6_view> ip;
    std::optional<wire::icmpv6_view> icmp;
    std::optional<wire::udp_view> udp;
    std::optional<wire::tcp_segment> tcp;
};

inline captured6 parse_frame6(const frame& f) {
    captured6 c;
    c.bytes_ = f;
    const bytes b{c.bytes_};
    auto eth = wire::ethernet_view::parse(b);
    if (!eth) {
        ADD_FAILURE() << "short frame";
        return c;
    }
    c.eth_dst = eth->destination();
    c.eth_src = eth->source();
    c.ether_type = eth->type();
    if (c.ether_type != 0x86dd) return c;
    auto ip = wire::ipv6_view::parse(eth->payload());
    EXPECT_TRUE(ip) << "stack emitted a malformed IPv6 packet";
    if (!ip) return c;
    c.ip = *ip;
    EXPECT_EQ(eth->payload().size(), ip->packet().size()) << "IPv6 payload length disagrees with the frame";
    const ip::address src{ip->source()}, dst{ip->destination()};
    switch (ip->next_header()) {
    case 58: {
        auto m = wire::icmpv6_view::parse(ip->payload(), ip->source(), ip->destination());
        EXPECT_TRUE(m) << "stack emitted a malformed ICMPv6 message";
        if (m) c.icmp = *m;
        break;
    }
    case 17: {
        auto u = wire::udp_view::parse(ip->payload(), src, dst);
        EXPECT_TRUE(u) << "stack emitted a malformed UDP datagram";
        if (u) c.udp = *u;
        break;
    }
    case 6: {
        auto t = wire::tcp_view::parse(ip->payload(), src, dst);
        EXPECT_TRUE(t) << "stack emitted a malformed TCP segment";
        if (!t) break;
        auto seg = t->decode();
        EXPECT_TRUE(seg);
        if (seg) c.tcp = *seg;
        break;
    }
    default: break;
    }
    return c;
}

class harness6 {
public:
    static stack_config default_config() {
        stack_config c = harness::default_config();
        c.ipv6 = ip::interface_address_v6{v6("2001:db8::2"), 64};
        c.dad_transmits = 0;  // most tests start with usable addresses
        c.ipv6_send_router_solicitation = false;  // and a quiet wire
        return c;
    }
    explicit harness6(const stack_config& cfg = default_config()) : stack{cfg, sink} { stack.poll(now); }

    recording_sink sink;
    tapstack::stack stack;
    instant now = instant_from_us(1'000'000);
    link::mac_address peer_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
    ip::address_v6 peer = v6("2001:db8::1");
    ip::address_v6 peer_ll = v6("fe80::99");

    ip::address_v6 us() const { return stack.config().ipv6->addr; }
    ip::address_v6 us_ll() const { return stack.ipv6_link_local(); }

    void advance(duration d) {
        const instant until = now + d;
        while (true) {
            auto next = stack.poll(now);
            if (!next || *next > until) break;
            now = std::max(now, *next);
        }
        now = until;
        stack.poll(now);
    }
    void inject(bytes f) { stack.receive(f, now); }

    /// Ethernet + IPv6 + payload; the destination MAC follows the destination address.
    frame ipv6(std::uint8_t next_header, bytes payload, std::optional<ip::address_v6> dst = {},
               std::optional<ip::address_v6> src = {}, std::uint8_t hop_limit = 64) const {
        const auto d = dst ? *dst : us();
        frame f(14 + 40 + payload.size());
        const auto dst_mac = d.is_multicast() ? wire::multicast_mac(d) : stack.config().mac;
        wire::ethernet_header{dst_mac, peer_mac, 0x86dd}.encode(f);
        wire::ipv6_header h;
        h.source = src ? *src : peer;
        h.destination = d;
        h.next_header = next_header;
        h.hop_limit = hop_limit;
        h.encode(mutable_bytes{f}.subspan(14), payload.size());
        copy_bytes(f, 54, payload);
        return f;
    }
    frame icmp6(std::uint8_t type, std::uint8_t code, std::uint32_t rest, bytes body,
                std::optional<ip::address_v6> dst = {}, std::optional<ip::address_v6> src = {},
                std::uint8_t hop_limit = 64) const {
        const auto d = dst ? *dst : us();
        const auto s = src ? *src : peer;
        frame m(8 + body.size());
        copy_bytes(m, 8, body);
        wire::icmpv6_header{type, code, rest}.encode(m, body.size(), s, d);
        return ipv6(58, m, d, s, hop_limit);
    }
    frame ping(std::uint16_t id, std::uint16_t seq, bytes data, std::optional<ip::address_v6> dst = {}) const {
        return icmp6(128, 0, (std::uint32_t{id} << 16) | seq, data, dst);
    }
    frame ns(const ip::address_v6& target, std::optional<ip::address_v6> src = {},
             std::optional<ip::address_v6> dst = {}, bool with_sll = true) const {
        wire::neighbor_solicitation n;
        n.target = target;
        const auto s = src ? *src : peer;
        if (with_sll && !s.is_unspecified()) n.source_link_layer = peer_mac;
        const auto d = dst ? *dst : wire::solicited_node_multicast(target);
        frame m(n.encoded_size());
        n.encode(m, s, d);
        return ipv6(58, m, d, s, 255);
    }
    frame na(const ip::address_v6& target, bool solicited, bool override_flag,
             std::optional<link::mac_address> tll = {}, std::optional<ip::address_v6> dst = {}) const {
        wire::neighbor_advertisement n;
        n.solicited = solicited;
        n.override_flag = override_flag;
        n.target = target;
        n.target_link_layer = tll ? *tll : peer_mac;
        const auto d = dst ? *dst : us();
        frame m(n.encoded_size());
        n.encode(m, target, d);
        return ipv6(58, m, d, target, 255);
    }
    frame udp6(std::uint16_t sport, std::uint16_t dport, bytes payload, std::optional<ip::address_v6> dst = {}) const {
        const auto d = dst ? *dst : us();
        frame u(8 + payload.size());
        copy_bytes(u, 8, payload);
        wire::udp_header{sport, dport}.encode(u, payload.size(), ip::address{peer}, ip::address{d});
        return ipv6(17, u, d);
    }
    frame tcp6(const wire::tcp_segment& seg) const {
        frame t(seg.encoded_size());
        wire::encode_tcp(seg, t, ip::address{peer}, ip::address{us()});
        return ipv6(6, t);
    }

    /// The peer solicits us (teaching its MAC, entry STALE); our advertisement is dropped.
    void learn_peer() {
        inject(ns(us()));
        clear();
    }

    std::size_t pending() const { return sink.frames.size(); }
    void clear() { sink.frames.clear(); }
    captured6 next() {
        if (sink.frames.empty()) {
            ADD_FAILURE() << "expected a frame from the stack, got none";
            return {};
        }
        auto f = std::move(sink.frames.front());
        sink.frames.pop_front();
        return parse_frame6(f);
    }
};

}  // namespace tapstack::testing
