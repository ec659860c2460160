// ICMP errors that quote our TCP segments reach the connection (RFC 9293 §3.9.2.2 MUST-54,
// SHLD-25/26, MUST-56; RFC 1122 4.2.3.9; RFC 5927 §4.1; RFC 1191), through the whole stack: the
// scripted peer (or a router beside it) sends the ICMP frame, and the wire shows the effect.
#include <gtest/gtest.h>
#include <algorithm>
#include <string>
#include <vector>
#include "v6_harness.hpp"
#include "harness.hpp"

namespace tapstack::testing {
namespace {

using namespace std::chrono_literals;
using tcp::seq_number;

constexpr std::uint16_t peer_port = 80;

/// An ICMP error from the peer's side of the wire, quoting `quote`.
frame icmp_error(const harness& h, std::uint8_t type, std::uint8_t code, std::uint32_t rest, bytes quote) {
    frame m(wire::icmp_header_size + quote.size());
    copy_bytes(m, wire::icmp_header_size, quote);
    wire::icmp_header{type, code, rest}.encode(m, quote.size());
    return h.ipv4(static_cast<std::uint8_t>(wire::ip_protocol::icmp), m);
}

/// What a router quotes (RFC 792): our IP header and the first `tcp_bytes` bytes of the segment.
std::vector<std::byte> quote_of(const captured& f, std::size_t tcp_bytes = 8) {
    const bytes p = f.ip->packet();
    const std::size_t n = std::min(p.size(), std::size_t{f.ip->header_length()} + tcp_bytes);
    return {p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n)};
}

/// The quote with another sequence number (`ip_header`: 20 for IPv4, 40 for IPv6).
std::vector<std::byte> with_seq(std::vector<std::byte> q, seq_number s, std::size_t ip_header = 20) {
    store_be32(q, ip_header + 4, s.value());
    return q;
}

/// A stack that has sent a SYN to the peer's port 80.
struct syn_sent_fixture {
    harness h;
    socket_handle c{};
    captured syn;
    syn_sent_fixture() {
        h.learn_peer();
        c = h.stack.tcp_open().value();
        EXPECT_EQ(h.stack.tcp_connect(c, {h.them(), peer_port}, h.now), errc::success);
        syn = h.next();
        EXPECT_TRUE(syn.tcp && syn.tcp->flags.syn);
    }
    tcp::state state() const { return h.stack.tcp_info(c).value().state; }
};

/// An established connection (peer MSS 1460 unless told, no window scaling, no timestamps,
/// SACK if told), Nagle off.
struct established_fixture : syn_sent_fixture {
    seq_number iss;
    explicit established_fixture(std::uint16_t peer_mss = 1460, bool sack = false) {
        iss = syn.tcp->seq;
        wire::tcp_segment sa;
        sa.source_port = peer_port;
        sa.destination_port = syn.tcp->source_port;
        sa.seq = seq_number{5000};
        sa.ack = iss + 1;
        sa.flags.syn = sa.flags.ack = true;
        sa.window = 65535;
        sa.options.mss = peer_mss;
        sa.options.sack_permitted = sack;
        h.inject(h.tcp(sa));
        EXPECT_EQ(state(), tcp::state::established);
        EXPECT_EQ(h.stack.tcp_set_no_delay(c, true), errc::success);
        h.clear();
    }
    /// Sends `n` bytes and returns the data frames that left at once.
    std::vector<captured> send(std::size_t n) {
        const std::string data(n, 'd');
        EXPECT_EQ(h.stack.tcp_send(c, as_bytes_of(data), h.now).value(), n);
        return data_frames();
    }
    std::vector<captured> data_frames() {
        std::vector<captured> out;
        while (h.pending()) {
            auto f = h.next();
            if (f.tcp && !f.tcp->payload.empty()) out.push_back(std::move(f));
        }
        return out;
    }
};

// ------------------------------------------------------------------ hard errors

TEST(TcpIcmpError, PortUnreachableInSynSentRefusesTheConnection) {
    syn_sent_fixture f;
    f.h.inject(icmp_error(f.h, 3, 3, 0, quote_of(f.syn)));
    EXPECT_EQ(f.state(), tcp::state::closed);
    EXPECT_EQ(f.h.stack.tcp_error(f.c), errc::connection_refused);  // RFC 1122 4.2.3.9: hard
    const auto& st = f.h.stack.stats();
    EXPECT_EQ(st.icmp.in_dest_unreachs, 1u);
    EXPECT_EQ(st.icmp.in_tcp_errors, 1u);
    EXPECT_EQ(st.tcp.attempt_fails, 1u);
    f.h.clear();
    f.h.advance(10s);
    EXPECT_EQ(f.h.pending(), 0u) << "an aborted connection sends no more SYNs";
}

TEST(TcpIcmpError, AdministrativelyProhibitedInSynSentReportsHostUnreachable) {
    for (const std::uint8_t code : {std::uint8_t{2}, std::uint8_t{9}, std::uint8_t{10}, std::uint8_t{13}}) {
        syn_sent_fixture f;
        f.h.inject(icmp_error(f.h, 3, code, 0, quote_of(f.syn)));
        EXPECT_EQ(f.state(), tcp::state::closed) << "code " << int{code};
        EXPECT_EQ(f.h.stack.tcp_error(f.c), errc::host_unreachable) << "code " << int{code};
    }
}

TEST(TcpIcmpError, PortUnreachableOutsideSndUnaToSndNxtIsIgnored) {
    syn_sent_fixture f;
    const seq_number iss = f.syn.tcp->seq;
    // RFC 5927 §4.1: SND.UNA =< SEG.SEQ < SND.NXT, and in SYN-SENT that is the ISS alone.
    f.h.inject(icmp_error(f.h, 3, 3, 0, with_seq(quote_of(f.syn), iss + 1)));
    f.h.inject(icmp_error(f.h, 3, 3, 0, with_seq(quote_of(f.syn), iss - 1)));
    f.h.inject(icmp_error(f.h, 3, 3, 0, with_seq(quote_of(f.syn), iss + 0x40000000u)));
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    const auto& st = f.h.stack.stats();
    EXPECT_EQ(st.icmp.in_tcp_out_of_window, 3u);
    EXPECT_EQ(st.icmp.in_tcp_errors, 0u);
    f.h.advance(1100ms);  // the initial RTO (1 s): the SYN goes again
    auto again = f.h.next();
    ASSERT_TRUE(again.tcp);
    EXPECT_TRUE(again.tcp->flags.syn);
    EXPECT_EQ(again.tcp->seq, iss);
}

TEST(TcpIcmpError, PortUnreachableForAnotherConnectionIsCountedAndIgnored) {
    syn_sent_fixture f;
    auto q = quote_of(f.syn);
    store_be16(q, 20, static_cast<std::uint16_t>(f.syn.tcp->source_port + 1));  // not our port
    f.h.inject(icmp_error(f.h, 3, 3, 0, q));
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_no_connection, 1u);
}

TEST(TcpIcmpError, HardErrorInSynReceivedDropsTheChild) {
    harness h;
    h.learn_peer();
    auto l = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_bind(l, {ip::address_v4::any(), 8080}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(l, 8), errc::success);
    wire::tcp_segment syn;
    syn.source_port = 40000;
    syn.destination_port = 8080;
    syn.seq = seq_number{1000};
    syn.flags.syn = true;
    syn.window = 65535;
    h.inject(h.tcp(syn));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp && synack.tcp->flags.syn && synack.tcp->flags.ack);
    h.inject(icmp_error(h, 3, 3, 0, quote_of(synack)));
    EXPECT_EQ(h.stack.stats().icmp.in_tcp_errors, 1u);
    // The child is gone: the peer's ACK now finds no connection and is answered with RST.
    wire::tcp_segment ack = syn;
    ack.flags = {};
    ack.flags.ack = true;
    ack.seq = seq_number{1001};
    ack.ack = synack.tcp->seq + 1;
    h.inject(h.tcp(ack));
    auto rst = h.next();
    ASSERT_TRUE(rst.tcp);
    EXPECT_TRUE(rst.tcp->flags.rst);
    EXPECT_EQ(h.stack.tcp_accept(l, h.now).error(), errc::would_block);
}

// ------------------------------------------------------------------ soft errors

TEST(TcpIcmpError, TimeExceededInSynSentIsSoftAndExplainsTheTimeout) {
    syn_sent_fixture f;
    f.h.inject(icmp_error(f.h, 11, 0, 0, quote_of(f.syn)));
    EXPECT_EQ(f.state(), tcp::state::syn_sent) << "RFC 9293 MUST-56: a soft error never aborts";
    EXPECT_EQ(f.h.stack.stats().icmp.in_time_excds, 1u);
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_errors, 1u);
    f.h.advance(400s);  // every SYN retry (MUST-23: over 3 minutes)
    EXPECT_EQ(f.state(), tcp::state::closed);
    EXPECT_EQ(f.h.stack.tcp_error(f.c), errc::host_unreachable);
    EXPECT_EQ(f.h.stack.stats().tcp.connections_timed_out, 1u);
}

TEST(TcpIcmpError, HostUnreachableInEstablishedIsSoftAndTheR2TimeoutReportsIt) {
    established_fixture f;
    auto sent = f.send(100);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(f.h.stack.tcp_info(f.c)->soft_error, errc::success);
    f.h.inject(icmp_error(f.h, 3, 1, 0, quote_of(sent[0])));
    EXPECT_EQ(f.state(), tcp::state::established);
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_errors, 1u);
    EXPECT_EQ(f.h.stack.tcp_info(f.c)->soft_error, errc::host_unreachable) << "MUST-47: visible while it lives";
    // Port unreachable, hard in SYN-SENT, is soft once synchronized (RFC 1122 4.2.3.9).
    f.h.inject(icmp_error(f.h, 3, 3, 0, quote_of(sent[0])));
    EXPECT_EQ(f.state(), tcp::state::established);
    EXPECT_EQ(f.h.stack.tcp_info(f.c)->soft_error, errc::connection_refused);
    f.h.inject(icmp_error(f.h, 3, 1, 0, quote_of(sent[0])));  // the last soft error wins
    f.h.advance(2h);  // R2: max_retries backed-off retransmissions
    EXPECT_EQ(f.state(), tcp::state::closed);
    EXPECT_EQ(f.h.stack.tcp_error(f.c), errc::host_unreachable) << "not timed_out: Linux reports EHOSTUNREACH";
    EXPECT_EQ(f.h.stack.stats().tcp.connections_timed_out, 1u);
}

TEST(TcpIcmpError, SoftErrorIsForgottenOnceAnAckMakesProgress) {
    established_fixture f;
    auto sent = f.send(100);
    ASSERT_EQ(sent.size(), 1u);
    f.h.inject(icmp_error(f.h, 3, 1, 0, quote_of(sent[0])));
    wire::tcp_segment ack;
    ack.source_port = peer_port;
    ack.destination_port = sent[0].tcp->source_port;
    ack.seq = seq_number{5001};
    ack.ack = f.iss + 101;
    ack.flags.ack = true;
    ack.window = 65535;
    EXPECT_EQ(f.h.stack.tcp_info(f.c)->soft_error, errc::host_unreachable);
    f.h.inject(f.h.tcp(ack));
    EXPECT_EQ(f.h.stack.tcp_info(f.c)->soft_error, errc::success);
    f.send(50);
    f.h.advance(2h);
    EXPECT_EQ(f.state(), tcp::state::closed);
    EXPECT_EQ(f.h.stack.tcp_error(f.c), errc::timed_out);
}

TEST(TcpIcmpError, ErrorQuotingAcknowledgedDataIsOutOfWindow) {
    established_fixture f;
    auto sent = f.send(100);
    ASSERT_EQ(sent.size(), 1u);
    // Nothing in flight after the ACK: no sequence number is in SND.UNA..SND.NXT-1.
    wire::tcp_segment ack;
    ack.source_port = peer_port;
    ack.destination_port = sent[0].tcp->source_port;
    ack.seq = seq_number{5001};
    ack.ack = f.iss + 101;
    ack.flags.ack = true;
    ack.window = 65535;
    f.h.inject(f.h.tcp(ack));
    f.h.inject(icmp_error(f.h, 3, 1, 0, quote_of(sent[0])));
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_out_of_window, 1u);
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_errors, 0u);
}

// ------------------------------------------------------------------ PMTU discovery (RFC 1191)

TEST(TcpIcmpError, FragmentationNeededLowersTheMssAndResendsSmaller) {
    established_fixture f;
    auto sent = f.send(4000);
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].tcp->payload.size(), 1460u);
    // The router cannot pass the first (1500-byte) datagram: next-hop MTU 1000.
    f.h.inject(icmp_error(f.h, 3, 4, 1000, quote_of(sent[0])));
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_errors, 1u);
    EXPECT_EQ(f.state(), tcp::state::established) << "fragmentation needed is PMTU discovery, not an abort";
    auto resent = f.data_frames();
    ASSERT_FALSE(resent.empty()) << "the refused segments go again at once";
    EXPECT_EQ(resent[0].tcp->seq, f.iss + 1);
    EXPECT_EQ(resent[0].tcp->payload.size(), 960u);  // 1000 - 20 (IP) - 20 (TCP)
    std::size_t covered = 0;
    for (const auto& r : resent) {
        EXPECT_LE(r.tcp->payload.size(), 960u);
        EXPECT_LE(r.ip->total_length(), 1000u);
        covered += r.tcp->payload.size();
    }
    EXPECT_EQ(covered, 4000u);
    EXPECT_GE(f.h.stack.stats().tcp.retrans_segs, resent.size());
    // New data keeps to the path MTU.
    auto later = f.send(3000);
    ASSERT_FALSE(later.empty());
    for (const auto& r : later) EXPECT_LE(r.tcp->payload.size(), 960u);
}

TEST(TcpIcmpError, FragmentationNeededBelowTheFloorClampsTo552) {
    established_fixture f;
    auto sent = f.send(3000);
    ASSERT_FALSE(sent.empty());
    f.h.inject(icmp_error(f.h, 3, 4, 296, quote_of(sent[0])));  // a forged tiny MTU (RFC 5927 §7)
    auto resent = f.data_frames();
    ASSERT_FALSE(resent.empty());
    EXPECT_EQ(resent[0].tcp->payload.size(), 512u) << "Linux's min_pmtu 552, less 40 bytes of headers";
    for (const auto& r : resent) EXPECT_LE(r.tcp->payload.size(), 512u);
}

TEST(TcpIcmpError, FragmentationNeededNotBelowThePathMtuIsIgnored) {
    established_fixture f;
    auto sent = f.send(3000);
    ASSERT_EQ(sent.size(), 3u);
    f.h.inject(icmp_error(f.h, 3, 4, 1500, quote_of(sent[0])));  // our link MTU: no news
    f.h.inject(icmp_error(f.h, 3, 4, 0, quote_of(sent[0])));  // RFC 1191 §5 old router: ignored
    EXPECT_TRUE(f.data_frames().empty());
    f.h.inject(icmp_error(f.h, 3, 4, 1000, quote_of(sent[0])));
    EXPECT_FALSE(f.data_frames().empty());
    f.h.inject(icmp_error(f.h, 3, 4, 1200, quote_of(sent[0])));  // larger than the path's 1000
    EXPECT_TRUE(f.data_frames().empty());
    auto later = f.send(2000);
    ASSERT_FALSE(later.empty());
    for (const auto& r : later) EXPECT_LE(r.tcp->payload.size(), 960u);
}

TEST(TcpIcmpError, FragmentationNeededOutsideTheWindowChangesNothing) {
    established_fixture f;
    auto sent = f.send(3000);
    ASSERT_FALSE(sent.empty());
    f.h.inject(icmp_error(f.h, 3, 4, 600, with_seq(quote_of(sent[0]), f.iss + 5000)));
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_out_of_window, 1u);
    EXPECT_TRUE(f.data_frames().empty());
    auto later = f.send(3000);
    ASSERT_FALSE(later.empty());
    EXPECT_EQ(later[0].tcp->payload.size(), 1460u);
}

// ------------------------------------------------------------------ malformed quotes

TEST(TcpIcmpError, TruncatedQuoteIsCountedAndDropped) {
    syn_sent_fixture f;
    const auto full = quote_of(f.syn);
    ASSERT_EQ(full.size(), 28u);
    // Every length short of the IP header plus TCP's first 8 bytes (ports and sequence number).
    for (std::size_t n = 0; n < full.size(); ++n) {
        const std::vector<std::byte> q(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        f.h.inject(icmp_error(f.h, 3, 3, 0, q));
    }
    EXPECT_EQ(f.h.stack.stats().icmp.in_bad_quotes, full.size());
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_errors, 0u);
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    // Malformed in other ways: a header length past the quote, an IPv6 version, a later fragment,
    // a source that is not ours.
    auto ihl = full;
    ihl[0] = std::byte{0x4f};
    auto v6 = full;
    v6[0] = std::byte{0x65};
    auto frag = full;
    store_be16(frag, 6, 0x0010);
    auto foreign = full;
    store_be32(foreign, 12, 0x0a000063);  // 10.0.0.99
    for (const auto* q : {&ihl, &v6, &frag, &foreign}) f.h.inject(icmp_error(f.h, 3, 3, 0, *q));
    EXPECT_EQ(f.h.stack.stats().icmp.in_bad_quotes, full.size() + 4);
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    // The whole quote still works afterwards.
    f.h.inject(icmp_error(f.h, 3, 3, 0, full));
    EXPECT_EQ(f.state(), tcp::state::closed);
}

TEST(TcpIcmpError, SourceQuenchAndErrorsToBroadcastAreIgnored) {
    syn_sent_fixture f;
    f.h.inject(icmp_error(f.h, 4, 0, 0, quote_of(f.syn)));  // RFC 9293 MUST-55 / RFC 6633
    frame m(wire::icmp_header_size + 28);
    const auto q = quote_of(f.syn);
    copy_bytes(m, wire::icmp_header_size, q);
    wire::icmp_header{3, 3, 0}.encode(m, q.size());
    f.h.inject(f.h.ipv4(1, m, ip::address_v4{10, 0, 0, 255}));
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_errors, 0u);
}

// ------------------------------------------------------------------ ICMPv6 (RFC 4443 §3.1)

/// A v6 stack that has sent a SYN to [peer]:80; `quote` is the SYN's IPv6 header and 8 TCP bytes.
struct syn_sent6_fixture {
    harness6 h;
    socket_handle c{};
    seq_number iss;
    std::vector<std::byte> quote;
    syn_sent6_fixture() {
        h.learn_peer();
        c = h.stack.tcp_open().value();
        EXPECT_EQ(h.stack.tcp_connect(c, {h.peer, peer_port}, h.now), errc::success);
        auto syn = h.next();
        EXPECT_TRUE(syn.tcp && syn.tcp->flags.syn);
        if (syn.tcp) iss = syn.tcp->seq;
        quote.assign(syn.bytes_.begin() + 14, syn.bytes_.begin() + 14 + 48);
    }
    tcp::state state() const { return h.stack.tcp_info(c).value().state; }
};

TEST(TcpIcmpError, Icmpv6PortUnreachableInSynSentRefusesTheConnection) {
    syn_sent6_fixture f;
    f.h.inject(f.h.icmp6(1, 4, 0, with_seq(f.quote, f.iss + 1, 40)));  // out of window: ignored
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    EXPECT_EQ(f.h.stack.stats().icmp6.in_tcp_out_of_window, 1u);
    f.h.inject(f.h.icmp6(1, 4, 0, f.quote));
    EXPECT_EQ(f.state(), tcp::state::closed);
    EXPECT_EQ(f.h.stack.tcp_error(f.c), errc::connection_refused);
    EXPECT_EQ(f.h.stack.stats().icmp6.in_tcp_errors, 1u);
}

TEST(TcpIcmpError, Icmpv6AddressUnreachableIsSoftAndExplainsTheTimeout) {
    syn_sent6_fixture f;
    f.h.inject(f.h.icmp6(1, 3, 0, f.quote));
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    EXPECT_EQ(f.h.stack.stats().icmp6.in_tcp_errors, 1u);
    const std::vector<std::byte> truncated(f.quote.begin(), f.quote.begin() + 44);
    f.h.inject(f.h.icmp6(1, 4, 0, truncated));
    EXPECT_EQ(f.h.stack.stats().icmp6.in_bad_quotes, 1u);
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    f.h.advance(400s);
    EXPECT_EQ(f.state(), tcp::state::closed);
    EXPECT_EQ(f.h.stack.tcp_error(f.c), errc::host_unreachable);
}

// ------------------------------------------------------------------ found in review

TEST(TcpIcmpError, FragmentationNeededNotBelowThePeersMssResendsNothing) {
    established_fixture f{1000};
    auto sent = f.send(3000);
    ASSERT_EQ(sent.size(), 3u);
    // MTU 1300: MSS 1260, above the 1000 the peer allows. Nothing we sent was too big.
    f.h.inject(icmp_error(f.h, 3, 4, 1300, quote_of(sent[0])));
    EXPECT_TRUE(f.data_frames().empty()) << "no resend for a report that refused nothing";
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_errors, 0u);
    // MTU 900 is news: the data in flight goes again in 860-byte segments.
    f.h.inject(icmp_error(f.h, 3, 4, 900, quote_of(sent[0])));
    auto resent = f.data_frames();
    ASSERT_FALSE(resent.empty());
    for (const auto& r : resent) EXPECT_LE(r.tcp->payload.size(), 860u);
    EXPECT_EQ(f.h.stack.stats().icmp.in_tcp_errors, 1u);
}

TEST(TcpIcmpError, SoftErrorFromTheHandshakeIsClearedByTheSynAck) {
    syn_sent_fixture f;
    f.h.inject(icmp_error(f.h, 3, 1, 0, quote_of(f.syn)));  // host unreachable: soft
    EXPECT_EQ(f.state(), tcp::state::syn_sent);
    EXPECT_EQ(f.h.stack.tcp_info(f.c)->soft_error, errc::host_unreachable);
    wire::tcp_segment sa;
    sa.source_port = peer_port;
    sa.destination_port = f.syn.tcp->source_port;
    sa.seq = seq_number{5000};
    sa.ack = f.syn.tcp->seq + 1;
    sa.flags.syn = sa.flags.ack = true;
    sa.window = 65535;
    f.h.inject(f.h.tcp(sa));
    EXPECT_EQ(f.state(), tcp::state::established);
    EXPECT_EQ(f.h.stack.tcp_info(f.c)->soft_error, errc::success) << "the peer answered: the error is stale";
}

TEST(TcpIcmpError, FragmentationNeededDuringSackRecoveryResendsNoMoreThanCwnd) {
    established_fixture f{1460, true};
    auto sent = f.send(10 * 1460);  // the initial window (RFC 6928): 10 segments in flight
    ASSERT_EQ(sent.size(), 10u);
    // Segment 0 lost; the peer SACKs 1..3 with three duplicate ACKs: SACK recovery (RFC 6675),
    // cwnd = ssthresh = flight / 2 = 7300, and segment 0 goes again.
    for (int i = 1; i <= 3; ++i) {
        wire::tcp_segment dup;
        dup.source_port = peer_port;
        dup.destination_port = sent[0].tcp->source_port;
        dup.seq = seq_number{5001};
        dup.ack = f.iss + 1;
        dup.flags.ack = true;
        dup.window = 65535;
        dup.options.sack_count = 1;
        dup.options.sack[0] = {f.iss + 1 + 1460, f.iss + 1 + static_cast<std::uint32_t>(1460 * (i + 1))};
        f.h.inject(f.h.tcp(dup));
    }
    auto retransmitted = f.data_frames();
    ASSERT_FALSE(retransmitted.empty());
    EXPECT_EQ(retransmitted[0].tcp->seq, f.iss + 1);
    // Now the path shrinks: the data in flight goes again in 960-byte segments, but as a
    // go-back-N within cwnd, not every un-SACKed byte at once (pipe() would not count it).
    f.h.inject(icmp_error(f.h, 3, 4, 1000, quote_of(sent[5])));
    std::size_t resent_bytes = 0;
    for (const auto& r : f.data_frames()) {
        EXPECT_LE(r.tcp->payload.size(), 960u);
        resent_bytes += r.tcp->payload.size();
    }
    EXPECT_GT(resent_bytes, 0u);
    EXPECT_LE(resent_bytes, 7300u) << "bounded by cwnd (ssthresh after the loss: 14600 / 2)";
}

TEST(TcpIcmpError, Icmpv6PacketTooBigResendsInFlightDataSmallerAtOnce) {
    syn_sent6_fixture f;
    wire::tcp_segment sa;
    sa.source_port = peer_port;
    sa.destination_port = load_be16(f.quote, 40);
    sa.seq = seq_number{5000};
    sa.ack = f.iss + 1;
    sa.flags.syn = sa.flags.ack = true;
    sa.window = 65535;
    sa.options.mss = 1440;
    f.h.inject(f.h.tcp6(sa));
    ASSERT_EQ(f.state(), tcp::state::established);
    ASSERT_EQ(f.h.stack.tcp_set_no_delay(f.c, true), errc::success);
    f.h.clear();
    const std::string data(4 * 1440, 'v');
    ASSERT_TRUE(f.h.stack.tcp_send(f.c, as_bytes_of(data), f.h.now));
    std::vector<std::byte> quote;
    while (f.h.pending()) {
        auto d = f.h.next();
        if (d.tcp && !d.tcp->payload.empty() && quote.empty())
            quote.assign(d.bytes_.begin() + 14, d.bytes_.begin() + 14 + 48);
    }
    ASSERT_FALSE(quote.empty());
    // RFC 8201: MTU 1280, MSS 1220. The data in flight goes again at once, in the new size.
    f.h.inject(f.h.icmp6(2, 0, 1280, quote));
    std::size_t resent = 0;
    while (f.h.pending()) {
        auto d = f.h.next();
        if (!d.tcp || d.tcp->payload.empty()) continue;
        EXPECT_LE(d.tcp->payload.size(), 1220u);
        resent += d.tcp->payload.size();
    }
    EXPECT_GE(resent, 1220u) << "not left to the retransmission timeout";
    EXPECT_EQ(f.h.stack.stats().icmp6.in_tcp_errors, 1u);
}

}  // namespace
}  // namespace tapstack::testing
