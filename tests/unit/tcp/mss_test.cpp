// The peer's MSS (RFC 9293 §3.7.1): honoured down to 48 bytes (MUST-16, Linux's
// TCP_MIN_SND_MSS), smaller values raised to 48; without an MSS option, 536 for an IPv4 peer
// and 1220 for an IPv6 one (MUST-15, RFC 8200's 1280-byte minimum MTU less 60 header bytes).
#include <gtest/gtest.h>

#include <string>
#include "tcp_pair.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using tcp::seq_number;
using tcp::state;

namespace {

/// A SYN reaches b's "listener" with the given MSS option (and timestamps if asked); the
/// handshake completes; b sends 3,000 bytes. Returns the payload sizes of b's data segments.
std::vector<std::size_t> segments_after_syn(tcp_pair& p, std::optional<std::uint16_t> mss, bool timestamps = false) {
    p.deliver_b_to_a = false;
    auto syn = make_segment(true, seq_number{100}, std::nullopt, flags_of("S"), 65535);
    syn.options.mss = mss;
    if (timestamps) syn.options.timestamps = wire::tcp_timestamps{1, 0};
    p.inject_to_b(syn);
    EXPECT_EQ(p.b().conn.current_state(), state::syn_received);
    if (p.b().sent.empty()) return {};
    const auto synack = p.b().sent.back().seg;
    auto ack = make_segment(true, seq_number{101}, synack.seq + 1, flags_of("A"), 65535);
    if (timestamps) ack.options.timestamps = wire::tcp_timestamps{2, synack.options.timestamps->value};
    p.inject_to_b(ack);
    EXPECT_EQ(p.b().conn.current_state(), state::established);
    const auto mark = p.b().sent.size();
    p.b().queue_send(std::string(3000, 'm'));
    p.pump();
    std::vector<std::size_t> sizes;
    for (const auto& s : p.b().sent_since(mark))
        if (!s.seg.payload.empty()) sizes.push_back(s.seg.payload.size());
    return sizes;
}

ip::four_tuple v6_tuple() {
    ip::four_tuple t;
    t.local = {ip::address{*ip::address_v6::from_string("2001:db8::2")}, 80};
    t.remote = {ip::address{*ip::address_v6::from_string("2001:db8::1")}, 40000};
    return t;
}

}  // namespace

TEST(TcpPeerMss, Mss48IsHonoured) {
    tcp_pair p;
    const auto sizes = segments_after_syn(p, 48);
    EXPECT_EQ(p.b().conn.info().peer_mss, 48);
    EXPECT_EQ(p.b().conn.info().smss, 48);
    ASSERT_GE(sizes.size(), 2u);
    EXPECT_EQ(sizes.front(), 48u) << "a full-sized segment is the peer's MSS, not 64";
    for (auto n : sizes) EXPECT_LE(n, 48u);
}

TEST(TcpPeerMss, Mss48WithTimestampsLeaves36BytesOfData) {
    tcp_pair p;
    const auto sizes = segments_after_syn(p, 48, true);
    EXPECT_EQ(p.b().conn.info().smss, 36) << "48 - 12 bytes of timestamps (RFC 9293 §3.7.1)";
    ASSERT_FALSE(sizes.empty());
    EXPECT_EQ(sizes.front(), 36u);
    for (auto n : sizes) EXPECT_LE(n, 36u);
}

TEST(TcpPeerMss, BelowTheFloorIsRaisedTo48) {
    for (std::uint16_t mss : {std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{20}, std::uint16_t{47}}) {
        tcp_pair p;
        const auto sizes = segments_after_syn(p, mss);
        EXPECT_EQ(p.b().conn.info().peer_mss, 48) << mss;
        ASSERT_FALSE(sizes.empty());
        EXPECT_EQ(sizes.front(), 48u) << mss;
    }
}

TEST(TcpPeerMss, Between48And64IsHonouredAsSent) {
    tcp_pair p;
    const auto sizes = segments_after_syn(p, 60);
    ASSERT_FALSE(sizes.empty());
    EXPECT_EQ(sizes.front(), 60u);
}

TEST(TcpPeerMss, Ipv4PeerWithoutTheOptionIsAssumed536) {
    tcp_pair p;
    const auto sizes = segments_after_syn(p, std::nullopt);
    EXPECT_EQ(p.b().conn.info().peer_mss, 536);
    ASSERT_FALSE(sizes.empty());
    EXPECT_EQ(sizes.front(), 536u);
}

TEST(TcpPeerMss, Ipv6PeerWithoutTheOptionIsAssumed1220) {
    tcp::config v6cfg;
    v6cfg.mss = 1440;  // what the stack gives a TCP over IPv6 on a 1500-byte link (mtu - 60)
    tcp_pair p{tcp::config{}, v6cfg};
    p.b().tuple = v6_tuple();
    const auto sizes = segments_after_syn(p, std::nullopt);
    EXPECT_EQ(p.b().conn.info().peer_mss, 1220) << "RFC 9293 MUST-15 for IPv6";
    ASSERT_GE(sizes.size(), 2u);
    EXPECT_EQ(sizes.front(), 1220u);
    for (auto n : sizes) EXPECT_LE(n, 1220u);
}

TEST(TcpPeerMss, Ipv6PeerWithTheOptionGetsItsOwn) {
    tcp::config v6cfg;
    v6cfg.mss = 1440;
    tcp_pair p{tcp::config{}, v6cfg};
    p.b().tuple = v6_tuple();
    const auto sizes = segments_after_syn(p, 536);
    EXPECT_EQ(p.b().conn.info().peer_mss, 536);
    ASSERT_FALSE(sizes.empty());
    EXPECT_EQ(sizes.front(), 536u);
}
