#include "harness.hpp"
#include <gtest/gtest.h>

namespace tapstack::testing {

stack_config harness::default_config() {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, 2}, 24};
    c.seed = 42;
    return c;
}

harness::harness(const stack_config& cfg) : stack{cfg, sink} {}

void harness::advance(duration d) {
    const instant until = now + d;
    while (true) {
        auto next = stack.poll(now);
        if (!next || *next > until) break;
        now = std::max(now, *next);
    }
    now = until;
    stack.poll(now);
}

frame harness::arp_request(ip::address_v4 target) const {
    frame f(60);
    wire::ethernet_header{link::mac_address::broadcast(), peer.mac, static_cast<std::uint16_t>(wire::ether_type::arp)}
        .encode(f);
    wire::arp_packet{wire::arp_operation::request, peer.mac, peer.ip, link::mac_address{}, target}.encode(
        mutable_bytes{f}.subspan(14));
    return f;
}

frame harness::arp_reply() const {
    frame f(60);
    const auto& cfg = stack.config();
    wire::ethernet_header{cfg.mac, peer.mac, static_cast<std::uint16_t>(wire::ether_type::arp)}.encode(f);
    wire::arp_packet{wire::arp_operation::reply, peer.mac, peer.ip, cfg.mac, cfg.ipv4.addr}.encode(
        mutable_bytes{f}.subspan(14));
    return f;
}

frame harness::ipv4(std::uint8_t protocol, bytes payload, ip::address_v4 dst, std::uint8_t ttl) const {
    if (dst.is_unspecified()) dst = stack.config().ipv4.addr;
    frame f(14 + 20 + payload.size());
    const auto dst_mac = dst.is_broadcast() ? link::mac_address::broadcast() : stack.config().mac;
    wire::ethernet_header{dst_mac, peer.mac, static_cast<std::uint16_t>(wire::ether_type::ipv4)}.encode(f);
    wire::ipv4_header h;
    h.source = peer.ip;
    h.destination = dst;
    h.protocol = protocol;
    h.ttl = ttl;
    h.identification = 0x1234;
    h.encode(mutable_bytes{f}.subspan(14), payload.size());
    copy_bytes(f, 34, payload);
    return f;
}

frame harness::ping(std::uint16_t id, std::uint16_t seq, bytes data) const {
    frame icmp(8 + data.size());
    copy_bytes(icmp, 8, data);
    wire::icmp_header{8, 0, (std::uint32_t{id} << 16) | seq}.encode(icmp, data.size());
    return ipv4(1, icmp);
}

frame harness::udp(std::uint16_t sport, std::uint16_t dport, bytes payload, bool zero_checksum) const {
    frame d(8 + payload.size());
    copy_bytes(d, 8, payload);
    wire::udp_header{sport, dport}.encode(d, payload.size(), them(), us());
    if (zero_checksum) store_be16(d, 6, 0);
    return ipv4(17, d);
}

frame harness::tcp(const wire::tcp_segment& seg) const {
    frame t(seg.encoded_size());
    wire::encode_tcp(seg, t, them(), us());
    return ipv4(6, t);
}

void harness::learn_peer() {
    auto f = arp_request(stack.config().ipv4.addr);
    inject(f);
    clear();
}

captured harness::next() {
    if (sink.frames.empty()) {
        ADD_FAILURE() << "expected a frame from the stack, got none";
        return {};
    }
    auto f = std::move(sink.frames.front());
    sink.frames.pop_front();
    return parse_frame(f);
}

captured parse_frame(const frame& f) {
    captured c;
    c.bytes_ = f;
    const bytes b{c.bytes_};
    auto eth = wire::ethernet_view::parse(b);
    if (!eth) {
        ADD_FAILURE() << "stack emitted a frame shorter than an Ethernet header";
        return c;
    }
    c.eth_dst = eth->destination();
    c.eth_src = eth->source();
    c.ether_type = eth->type();
    if (c.ether_type == 0x0806) {
        auto a = wire::arp_view::parse(eth->payload());
        EXPECT_TRUE(a) << "stack emitted a malformed ARP packet";
        if (a) c.arp = *a;
        return c;
    }
    if (c.ether_type != 0x0800) return c;
    auto ip = wire::ipv4_view::parse(eth->payload());
    EXPECT_TRUE(ip) << "stack emitted a malformed IPv4 packet";
    if (!ip) return c;
    c.ip = *ip;
    const ip::address src{ip->source()}, dst{ip->destination()};
    switch (ip->protocol()) {
    case 1: {
        auto m = wire::icmp_view::parse(ip->payload());
        EXPECT_TRUE(m) << "stack emitted a malformed ICMP message";
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

wire::tcp_segment peer_segment(std::uint16_t sport, std::uint16_t dport, tcp::seq_number seq) {
    wire::tcp_segment s;
    s.source_port = sport;
    s.destination_port = dport;
    s.seq = seq;
    s.window = 65535;
    return s;
}

socket_handle listen_on(harness& h, std::uint16_t port, std::uint32_t backlog, bool reuse) {
    auto l = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_set_reuse_address(l, reuse), errc::success);
    EXPECT_EQ(h.stack.tcp_bind(l, {ip::address_v4::any(), port}), errc::success);
    EXPECT_EQ(h.stack.tcp_listen(l, backlog), errc::success);
    return l;
}

tcp::seq_number handshake(harness& h, std::uint16_t sport, std::uint16_t dport, tcp::seq_number iss) {
    auto syn = peer_segment(sport, dport, iss);
    syn.flags.syn = true;
    syn.options.mss = 1460;
    h.inject(h.tcp(syn));
    auto synack = h.next();
    EXPECT_TRUE(synack.tcp);
    if (!synack.tcp) return {};
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
    EXPECT_EQ(synack.tcp->ack, iss + 1);
    auto ack = peer_segment(sport, dport, iss + 1);
    ack.flags.ack = true;
    ack.ack = synack.tcp->seq + 1;
    h.inject(h.tcp(ack));
    return synack.tcp->seq;
}

}  // namespace tapstack::testing
