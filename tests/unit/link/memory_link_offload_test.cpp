// Checksum offload on the in-memory link (issue #7): a stack with tx_checksum_offload leaves
// each TCP checksum partial (the pseudo-header sum only), memory_link_config::checksum_offload
// carries it partial to the peer, and the peer trusts it because it arrives through
// receive(frame, now, rx_offload{needs_csum}), as Linux trusts CHECKSUM_PARTIAL from a veth.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <vector>
#include <tapstack/link/fault_injector.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/ipv6.hpp>
#include <tapstack/wire/tcp.hpp>
#include "../../support/bulk_transfer.hpp"

namespace {

using namespace tapstack;
using namespace std::chrono_literals;
using tapstack::testing::bulk_config_for;
using tapstack::testing::bulk_endpoint;
using tapstack::testing::run_bulk_pair;

constexpr std::size_t eth = wire::ethernet_header_size;

/// Where a frame's TCP segment is (IPv4 or IPv6 without extension headers), if it carries one.
struct tcp_in_frame {
    ip::address src, dst;
    bytes segment;
};
std::optional<tcp_in_frame> tcp_of(bytes frame) {
    if (frame.size() < eth + wire::ipv4_min_header_size) return std::nullopt;
    const std::uint16_t type = load_be16(frame, 12);
    if (type == static_cast<std::uint16_t>(wire::ether_type::ipv4)) {
        if (load_u8(frame, eth + 9) != static_cast<std::uint8_t>(wire::ip_protocol::tcp)) return std::nullopt;
        const std::size_t ihl = std::size_t{load_u8(frame, eth) & 0x0fu} * 4;
        const std::size_t total = load_be16(frame, eth + 2);
        const auto a = [&](std::size_t at) {
            return ip::address{
                ip::address_v4{static_cast<std::uint8_t>(frame[at]), static_cast<std::uint8_t>(frame[at + 1]),
                               static_cast<std::uint8_t>(frame[at + 2]), static_cast<std::uint8_t>(frame[at + 3])}};
        };
        return tcp_in_frame{a(eth + 12), a(eth + 16), frame.subspan(eth + ihl, total - ihl)};
    }
    if (type == static_cast<std::uint16_t>(wire::ether_type::ipv6) && frame.size() >= eth + wire::ipv6_header_size) {
        if (load_u8(frame, eth + 6) != static_cast<std::uint8_t>(wire::ip_protocol::tcp)) return std::nullopt;
        const auto a = [&](std::size_t at) {
            std::array<std::uint8_t, 16> b{};
            for (std::size_t i = 0; i < 16; ++i) b[i] = static_cast<std::uint8_t>(frame[at + i]);
            return ip::address{ip::address_v6{b}};
        };
        return tcp_in_frame{a(eth + 8), a(eth + 24),
                            frame.subspan(eth + wire::ipv6_header_size, load_be16(frame, eth + 4))};
    }
    return std::nullopt;
}

/// The folded pseudo-header sum (RFC 9293 §3.1), what a partial checksum field holds.
std::uint16_t pseudo_header_sum(const tcp_in_frame& t) {
    wire::checksum_accumulator acc;
    wire::add_pseudo_header(acc, t.src, t.dst, static_cast<std::uint8_t>(wire::ip_protocol::tcp),
                            static_cast<std::uint32_t>(t.segment.size()));
    return acc.folded();
}

/// Sees every delivered frame: how many TCP frames, how many hold a partial checksum, how many verify.
struct checksum_census final : link::frame_sink {
    std::size_t tcp_frames = 0, partial = 0, verifying = 0, data_frames = 0, partial_data = 0;
    std::vector<std::vector<std::byte>> first_frames;  // the first few TCP frames, copied
    void send_frame(bytes frame, instant) override {
        const auto t = tcp_of(frame);
        if (!t) return;
        ++tcp_frames;
        const bool is_partial = load_be16(t->segment, 16) == pseudo_header_sum(*t);
        const bool verifies = wire::tcp_view::parse(t->segment, t->src, t->dst).has_value();
        const bool has_data = t->segment.size() > static_cast<std::size_t>(load_u8(t->segment, 12) >> 4) * 4;
        partial += is_partial;
        verifying += verifies;
        data_frames += has_data;
        partial_data += has_data && is_partial;
        if (first_frames.size() < 8) first_frames.emplace_back(frame.begin(), frame.end());
    }
};

stack_config offloading(stack_config c) {
    c.tx_checksum_offload = true;
    return c;
}

link::memory_link_config wire_config(bool checksum_offload) {
    link::memory_link_config wc;
    wc.queue_frames = 1024;
    wc.checksum_offload = checksum_offload;
    return wc;
}

constexpr std::size_t bulk_bytes = 300 * 1024;

struct transfer_result {
    bool finished = false;
    std::size_t client_received = 0, server_received = 0, mismatches = 0;
    bool hashes_match = false;
};
transfer_result transfer(tapstack::stack& client, tapstack::stack& server, link::memory_link& wire) {
    bulk_endpoint c{client, wire, 1, 2, bulk_bytes};
    bulk_endpoint s{server, wire, 2, 1, bulk_bytes};
    transfer_result r;
    r.finished = run_bulk_pair(client, server, wire, c, s, [](instant) {});
    r.client_received = c.received;
    r.server_received = s.received;
    r.mismatches = c.mismatches + s.mismatches;
    r.hashes_match = c.sent_hash.value == s.received_hash.value && s.sent_hash.value == c.received_hash.value;
    EXPECT_EQ(c.failure, errc::success);
    EXPECT_EQ(s.failure, errc::success);
    return r;
}

void expect_byte_exact(const transfer_result& r) {
    ASSERT_TRUE(r.finished);
    EXPECT_EQ(r.client_received, bulk_bytes);
    EXPECT_EQ(r.server_received, bulk_bytes);
    EXPECT_EQ(r.mismatches, 0u);
    EXPECT_TRUE(r.hashes_match);
}

TEST(MemoryLinkChecksumOffload, BulkBothWaysIsByteExactWithPartialChecksumsTrusted) {
    link::memory_link wire{wire_config(true)};
    tapstack::stack a{offloading(bulk_config_for(1, 11)), wire.side_a()};
    tapstack::stack b{offloading(bulk_config_for(2, 22)), wire.side_b()};
    wire.attach(a, b);
    checksum_census census;
    wire.set_observer(&census);

    expect_byte_exact(transfer(a, b, wire));

    ASSERT_GT(census.data_frames, 2 * bulk_bytes / 1460);
    // Every TCP frame on the wire carries the pseudo-header sum and nothing more...
    EXPECT_EQ(census.partial, census.tcp_frames);
    EXPECT_EQ(census.partial_data, census.data_frames);
    // ...which is not the full checksum: such a frame does not verify (a data segment's full
    // sum equals its pseudo-header sum only by a 1-in-65536 accident).
    EXPECT_LT(census.verifying, census.tcp_frames / 100 + 1);
    EXPECT_EQ(wire.stats().partial_checksum_frames, census.tcp_frames);
    for (const auto* s : {&a, &b}) {
        EXPECT_EQ(s->stats().tcp.in_errs, 0u) << "no segment failed a checksum: none was checked";
        EXPECT_EQ(s->stats().link.in_checksum_offloaded, s->stats().tcp.in_segs);
        EXPECT_EQ(s->stats().tcp.retrans_segs, 0u);
    }
    EXPECT_EQ(wire.stats().full_drops + wire.stats().oversize_drops, 0u);
}

TEST(MemoryLinkChecksumOffload, SameTransferOnAPlainLinkCarriesFullChecksums) {
    link::memory_link wire{wire_config(false)};
    tapstack::stack a{bulk_config_for(1, 11), wire.side_a()};
    tapstack::stack b{bulk_config_for(2, 22), wire.side_b()};
    wire.attach(a, b);
    checksum_census census;
    wire.set_observer(&census);

    expect_byte_exact(transfer(a, b, wire));

    ASSERT_GT(census.data_frames, 2 * bulk_bytes / 1460);
    EXPECT_EQ(census.verifying, census.tcp_frames);
    EXPECT_LT(census.partial, census.tcp_frames / 100 + 1);
    EXPECT_EQ(wire.stats().partial_checksum_frames, 0u);
    for (const auto* s : {&a, &b}) {
        EXPECT_EQ(s->stats().tcp.in_errs, 0u);
        EXPECT_EQ(s->stats().link.in_checksum_offloaded, 0u);
    }
}

TEST(MemoryLinkChecksumOffload, OffloadingStackOnALinkWithoutOffloadGetsChecksumsCompleted) {
    // tx_checksum_offload is safe on any link: one that cannot pass the partial sum on
    // completes it in software (frame_sink::send_offloaded's default).
    link::memory_link wire{wire_config(false)};
    tapstack::stack a{offloading(bulk_config_for(1, 11)), wire.side_a()};
    tapstack::stack b{offloading(bulk_config_for(2, 22)), wire.side_b()};
    wire.attach(a, b);
    checksum_census census;
    wire.set_observer(&census);

    expect_byte_exact(transfer(a, b, wire));

    EXPECT_GT(census.tcp_frames, 0u);
    EXPECT_EQ(census.verifying, census.tcp_frames);
    EXPECT_EQ(wire.stats().partial_checksum_frames, 0u);
    for (const auto* s : {&a, &b}) {
        EXPECT_EQ(s->stats().tcp.in_errs, 0u);
        EXPECT_EQ(s->stats().link.in_checksum_offloaded, 0u);
    }
}

TEST(MemoryLinkChecksumOffload, Ipv6SegmentsArePartialAndTrustedToo) {
    const auto v6_config = [](std::uint8_t host, const char* addr) {
        stack_config c = offloading(bulk_config_for(host, host));
        c.ipv6 = ip::interface_address_v6::from_string(addr);
        c.dad_transmits = 0;
        c.ipv6_send_router_solicitation = false;
        return c;
    };
    link::memory_link wire{wire_config(true)};
    tapstack::stack a{v6_config(1, "fd00::1/64"), wire.side_a()};
    tapstack::stack b{v6_config(2, "fd00::2/64"), wire.side_b()};
    wire.attach(a, b);
    checksum_census census;
    wire.set_observer(&census);
    const auto server_addr = ip::address{*ip::address_v6::from_string("fd00::2")};

    auto l = b.tcp_open().value();
    ASSERT_EQ(b.tcp_bind(l, {server_addr, 9}), errc::success);
    ASSERT_EQ(b.tcp_listen(l, 4), errc::success);
    auto c = a.tcp_open().value();
    ASSERT_EQ(a.tcp_connect(c, {server_addr, 9}, wire.now()), errc::success);
    std::optional<socket_handle> s;
    ASSERT_TRUE(wire.run_until(
        [&] {
            if (auto got = b.tcp_accept(l, wire.now())) s = *got;
            return s.has_value();
        },
        wire.now() + 1s));
    std::vector<std::byte> sent(20000), got(sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = std::byte(i * 7 + 3);
    std::size_t pushed = 0, read = 0;
    ASSERT_TRUE(wire.run_until(
        [&] {
            if (pushed < sent.size())
                if (auto n = a.tcp_send(c, bytes{sent}.subspan(pushed), wire.now())) pushed += *n;
            while (read < got.size()) {
                auto n = b.tcp_receive(*s, mutable_bytes{got}.subspan(read), wire.now());
                if (!n || *n == 0) break;
                read += *n;
            }
            return read == got.size();
        },
        wire.now() + 10s));
    EXPECT_EQ(got, sent);
    EXPECT_GT(census.data_frames, sent.size() / 1500);
    EXPECT_EQ(census.partial, census.tcp_frames);
    EXPECT_LT(census.verifying, census.tcp_frames / 100 + 1);
    EXPECT_EQ(b.stats().tcp.in_errs, 0u);
    EXPECT_EQ(b.stats().link.in_checksum_offloaded, b.stats().tcp.in_segs);
}

/// A station that only has receive(bytes, instant): the link must complete partial checksums for it.
struct verifying_station {
    tapstack::stack& s;
    std::size_t tcp_frames = 0, verifying = 0;
    void receive(bytes frame, instant now) {
        if (auto t = tcp_of(frame)) {
            ++tcp_frames;
            verifying += wire::tcp_view::parse(t->segment, t->src, t->dst).has_value();
        }
        s.receive(frame, now);
    }
    std::optional<instant> poll(instant now) { return s.poll(now); }
};

TEST(MemoryLinkChecksumOffload, StationWithoutOffloadedReceiveGetsCompletedChecksums) {
    link::memory_link wire{wire_config(true)};
    tapstack::stack a{offloading(bulk_config_for(1, 11)), wire.side_a()};
    tapstack::stack b{offloading(bulk_config_for(2, 22)), wire.side_b()};
    verifying_station plain_b{b};
    wire.attach(a, plain_b);

    expect_byte_exact(transfer(a, b, wire));

    EXPECT_GT(plain_b.tcp_frames, bulk_bytes / 1460);
    EXPECT_EQ(plain_b.verifying, plain_b.tcp_frames);
    EXPECT_EQ(b.stats().tcp.in_errs, 0u);
    EXPECT_EQ(b.stats().link.in_checksum_offloaded, 0u) << "b was told nothing: it verified everything";
    EXPECT_GT(a.stats().link.in_checksum_offloaded, 0u) << "a still trusts b's partial checksums";
}

/// Records frames the stack under test sends.
struct recording_sink final : link::frame_sink {
    std::vector<std::vector<std::byte>> frames;
    void send_frame(bytes frame, instant) override { frames.emplace_back(frame.begin(), frame.end()); }
};

TEST(MemoryLinkChecksumOffload, PlainReceiveDropsAPartialChecksumFrameAsBadChecksum) {
    // Capture a partial-checksum SYN from an offloading pair...
    link::memory_link wire{wire_config(true)};
    tapstack::stack a{offloading(bulk_config_for(1, 11)), wire.side_a()};
    tapstack::stack b{offloading(bulk_config_for(2, 22)), wire.side_b()};
    wire.attach(a, b);
    checksum_census census;
    wire.set_observer(&census);
    auto l = b.tcp_open().value();
    ASSERT_EQ(b.tcp_bind(l, {ip::address_v4::any(), 9}), errc::success);
    ASSERT_EQ(b.tcp_listen(l, 4), errc::success);
    auto c = a.tcp_open().value();
    ASSERT_EQ(a.tcp_connect(c, {ip::address{ip::address_v4{10, 0, 0, 2}}, 9}, wire.now()), errc::success);
    ASSERT_TRUE(wire.run_until([&] { return b.tcp_accept(l, wire.now()).has_value(); }, wire.now() + 1s));
    ASSERT_FALSE(census.first_frames.empty());
    const std::vector<std::byte> syn = census.first_frames.front();
    const auto t = tcp_of(syn);
    ASSERT_TRUE(t);
    ASSERT_TRUE(wire::tcp_flags::from_byte(load_u8(t->segment, 13)).syn);
    ASSERT_EQ(load_be16(t->segment, 16), pseudo_header_sum(*t));
    ASSERT_FALSE(wire::tcp_view::parse(t->segment, t->src, t->dst).has_value());

    // ...and give it to two fresh copies of the listener: without the link's word, it is a bad
    // checksum; with rx_offload{needs_csum}, the same bytes open a connection.
    const auto listener_on = [](tapstack::stack& s) {
        auto h = s.tcp_open().value();
        EXPECT_EQ(s.tcp_bind(h, {ip::address_v4::any(), 9}), errc::success);
        EXPECT_EQ(s.tcp_listen(h, 4), errc::success);
        return h;
    };
    recording_sink out_plain, out_trusting;
    tapstack::stack plain{bulk_config_for(2, 22), out_plain};
    tapstack::stack trusting{bulk_config_for(2, 22), out_trusting};
    listener_on(plain);
    listener_on(trusting);

    plain.receive(syn, instant{});
    EXPECT_EQ(plain.stats().tcp.in_errs, 1u) << "dropped as a bad checksum";
    EXPECT_EQ(plain.stats().tcp.in_segs, 0u);
    EXPECT_EQ(plain.stats().tcp.passive_opens, 0u);
    EXPECT_TRUE(out_plain.frames.empty()) << "nothing answered";

    link::rx_offload off;
    off.needs_csum = true;
    trusting.receive(syn, instant{}, off);
    EXPECT_EQ(trusting.stats().tcp.in_errs, 0u);
    EXPECT_EQ(trusting.stats().tcp.in_segs, 1u);
    EXPECT_EQ(trusting.stats().link.in_checksum_offloaded, 1u);
    EXPECT_FALSE(out_trusting.frames.empty()) << "the SYN was taken: a SYN-ACK (or the ARP request for it) went out";
}

TEST(MemoryLinkChecksumOffload, CorruptionBehindAFaultInjectorIsStillCaught) {
    // The injector does not pass offload work on: its send_offloaded (frame_sink's default)
    // completes the checksum before it flips a bit, so the receiver verifies and catches it.
    // Corruption *inside* an offloading link would go unseen, as on veth: none is injected there.
    link::memory_link wire{wire_config(true)};
    link::fault_injector corrupt_all{{.corrupt = 1.0, .seed = 5}, wire.side_a()};
    tapstack::stack a{offloading(bulk_config_for(1, 11)), corrupt_all};
    tapstack::stack b{bulk_config_for(2, 22), wire.side_b()};  // so every partial frame would be a's
    wire.attach(a, b);
    auto l = b.tcp_open().value();
    ASSERT_EQ(b.tcp_bind(l, {ip::address_v4::any(), 9}), errc::success);
    ASSERT_EQ(b.tcp_listen(l, 4), errc::success);
    corrupt_all.set_probabilities(0, 0, 0, 0);  // ARP gets through
    auto c = a.tcp_open().value();
    ASSERT_EQ(a.tcp_connect(c, {ip::address{ip::address_v4{10, 0, 0, 2}}, 9}, wire.now()), errc::success);
    ASSERT_TRUE(wire.run_until([&] { return b.tcp_accept(l, wire.now()).has_value(); }, wire.now() + 1s));
    const auto errs_before = b.stats().tcp.in_errs;

    // Flip a byte in the TCP payload region only: IP header damage is caught by the IP checksum anyway.
    corrupt_all.set_probabilities(0, 0, 0, 1.0);
    std::vector<std::byte> payload(1000, std::byte{0x42});
    std::size_t corrupted_tcp = 0;
    for (int i = 0; i < 20; ++i) {
        const auto before = corrupt_all.stats().corrupted;
        ASSERT_TRUE(a.tcp_send(c, payload, wire.now()));
        wire.settle();
        corrupted_tcp += corrupt_all.stats().corrupted - before;
        wire.run_for(1ms);
    }
    ASSERT_GT(corrupted_tcp, 0u);
    EXPECT_EQ(wire.stats().partial_checksum_frames, 0u) << "the injector completed every checksum";
    EXPECT_EQ(b.stats().link.in_checksum_offloaded, 0u);
    // Every corrupted frame fails some check at b; the ones hit past the IP header fail TCP's.
    EXPECT_GT(b.stats().tcp.in_errs, errs_before);
}

}  // namespace
