// Checksum and segmentation offload (issue #7, link/offload.hpp): the virtio_net_hdr codec,
// partial checksums, software segmentation, the core taking a 64 KiB super-frame whose TCP
// checksum is partial, the core emitting TSO super-segments, bulk transfers with TSO through
// links that cut in software (clean and lossy), and tap::runtime stripping and prepending the
// vnet header over a socketpair.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <boost/asio/io_context.hpp>
#include <tapstack/link/fault_injector.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/link/offload.hpp>
#include <tapstack/tap/runtime.hpp>
#include "bulk_transfer.hpp"
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;
using tcp::seq_number;

namespace {

/// Records plain frames and offloaded ones (with their offload request) separately.
class offload_sink final : public link::frame_sink {
public:
    void send_frame(bytes f, instant) override { plain.emplace_back(f.begin(), f.end()); }
    void send_offloaded(bytes f, instant, const link::tx_offload& o) override {
        offloaded.emplace_back(f.begin(), f.end());
        requests.push_back(o);
    }
    std::vector<frame> plain, offloaded;
    std::vector<link::tx_offload> requests;
};

/// Collects the frames segment_in_software produces.
class collect_sink final : public link::frame_sink {
public:
    void send_frame(bytes f, instant) override { frames.emplace_back(f.begin(), f.end()); }
    std::vector<frame> frames;
};

wire::tcp_segment peer_segment(seq_number seq) {
    wire::tcp_segment s;
    s.source_port = 40000;
    s.destination_port = 80;
    s.seq = seq;
    s.window = 65535;
    return s;
}

/// The peer opens a connection to port 80 (window scaling offered, so the stack's 256 KiB
/// window is visible); returns the stack's ISN.
seq_number handshake(harness& h, seq_number iss, std::uint8_t wscale = 7) {
    auto syn = peer_segment(iss);
    syn.flags.syn = true;
    syn.options.mss = 1460;
    syn.options.window_scale = wscale;
    h.inject(h.tcp(syn));
    auto synack = h.next();
    EXPECT_TRUE(synack.tcp && synack.tcp->flags.syn && synack.tcp->flags.ack);
    if (!synack.tcp) return {};
    auto ack = peer_segment(iss + 1);
    ack.flags.ack = true;
    ack.ack = synack.tcp->seq + 1;
    ack.window = 4096;  // << 7: 512 KiB
    h.inject(h.tcp(ack));
    return synack.tcp->seq;
}

/// The partial checksum virtio's NEEDS_CSUM carries: the folded pseudo-header sum.
std::uint16_t pseudo_header_sum(const ip::address& src, const ip::address& dst, std::size_t tcp_length) {
    wire::checksum_accumulator acc;
    wire::add_pseudo_header(acc, src, dst, 6, static_cast<std::uint32_t>(tcp_length));
    return acc.folded();
}

std::vector<std::byte> pattern(std::size_t n, std::uint8_t seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<std::uint8_t>(i * 31 + seed));
    return v;
}

}  // namespace

// ---------------------------------------------------------------- the header

TEST(VnetHeader, EncodeParseRoundTripInHostByteOrder) {
    link::vnet_header h;
    h.flags = link::vnet_header::flag_needs_csum;
    h.gso_type = 1;
    h.hdr_len = 66;
    h.gso_size = 1448;
    h.csum_start = 34;
    h.csum_offset = 16;
    std::array<std::byte, 10> raw{};
    h.encode(raw);
    EXPECT_EQ(static_cast<std::uint8_t>(raw[0]), 1);
    EXPECT_EQ(static_cast<std::uint8_t>(raw[1]), 1);
    if constexpr (std::endian::native == std::endian::little) {
        // struct virtio_net_hdr on x86: __virtio16 fields, little-endian (legacy = native).
        EXPECT_EQ(static_cast<std::uint8_t>(raw[4]), 1448 & 0xff);
        EXPECT_EQ(static_cast<std::uint8_t>(raw[5]), 1448 >> 8);
        EXPECT_EQ(static_cast<std::uint8_t>(raw[6]), 34);
        EXPECT_EQ(static_cast<std::uint8_t>(raw[8]), 16);
    }
    auto back = link::vnet_header::parse(raw);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, h);
    EXPECT_FALSE(link::vnet_header::parse(bytes{raw}.first(9))) << "a short read has no header";
}

TEST(VnetHeader, RxOffloadReadsFlagsAndGsoTypesIgnoringTheEcnBit) {
    link::vnet_header h;
    EXPECT_FALSE(link::rx_offload::from(h).l4_checksum_trusted()) << "all zeros: verify everything";
    h.flags = link::vnet_header::flag_data_valid;
    EXPECT_TRUE(link::rx_offload::from(h).data_valid);
    EXPECT_TRUE(link::rx_offload::from(h).l4_checksum_trusted());
    h.flags = link::vnet_header::flag_needs_csum;
    h.gso_type = 4 | link::vnet_header::gso_ecn;
    h.gso_size = 1440;
    const auto r = link::rx_offload::from(h);
    EXPECT_TRUE(r.needs_csum);
    EXPECT_EQ(r.gso, link::gso_kind::tcpv6);
    EXPECT_EQ(r.gso_size, 1440);
    h.flags = 0;
    h.gso_type = 1;
    EXPECT_TRUE(link::rx_offload::from(h).l4_checksum_trusted()) << "a TCP super-frame's checksum is partial";
    EXPECT_FALSE(link::rx_offload{}.l4_checksum_trusted());
}

TEST(VnetHeader, TxOffloadBecomesTheHeaderTheKernelExpects) {
    link::tx_offload o;
    EXPECT_EQ(o.to_vnet_header(), link::vnet_header{}) << "an ordinary frame: all zeros";
    o.gso = link::gso_kind::tcpv4;
    o.gso_size = 1448;
    o.hdr_len = 66;
    o.needs_csum = true;
    o.csum_start = 34;
    o.csum_offset = 16;
    const auto h = o.to_vnet_header();
    EXPECT_EQ(h.flags, link::vnet_header::flag_needs_csum);
    EXPECT_EQ(h.gso_type, 1);
    EXPECT_EQ(h.gso_size, 1448);
    EXPECT_EQ(h.hdr_len, 66);
    EXPECT_EQ(h.csum_start, 34);
    EXPECT_EQ(h.csum_offset, 16);
}

// ---------------------------------------------------------------- checksums and segmentation

TEST(PartialChecksum, CompletingAUdpPseudoHeaderSumGivesTheFullChecksum) {
    harness h;
    const std::string text = "partial checksum from a TAP with TUN_F_CSUM";
    auto f = h.udp(5000, 7, as_bytes_of(text));
    const std::uint16_t full = load_be16(f, 34 + 6);
    wire::checksum_accumulator acc;
    wire::add_pseudo_header(acc, h.them(), h.us(), 17, static_cast<std::uint32_t>(8 + text.size()));
    store_be16(f, 34 + 6, acc.folded());  // what the kernel leaves with NEEDS_CSUM
    ASSERT_NE(load_be16(f, 34 + 6), full);
    ASSERT_TRUE(link::complete_partial_checksum(f, 34, 6));
    EXPECT_EQ(load_be16(f, 34 + 6), full);
    EXPECT_FALSE(link::complete_partial_checksum(f, static_cast<std::uint16_t>(f.size() - 1), 6))
        << "offsets past the frame";
}

TEST(SoftwareSegmentation, CutsASuperFrameLikeTheKernelsGso) {
    harness h;
    const auto payload = pattern(5000, 3);
    auto seg = peer_segment(seq_number{1000});
    seg.flags.ack = seg.flags.psh = seg.flags.fin = seg.flags.cwr = true;
    seg.ack = seq_number{77};
    seg.options.timestamps = wire::tcp_timestamps{1, 2};
    seg.payload = payload;
    seg.gso_size = 1448;
    const auto super = h.tcp(seg);
    const std::size_t tcp_length = 32 + payload.size();
    ASSERT_EQ(load_be16(super, 34 + 16), pseudo_header_sum(h.them(), h.us(), tcp_length))
        << "encode_tcp leaves a super-segment's checksum partial";
    link::tx_offload o;
    o.gso = link::gso_kind::tcpv4;
    o.gso_size = 1448;
    o.hdr_len = 14 + 20 + 32;
    o.needs_csum = true;
    o.csum_start = 34;
    o.csum_offset = 16;
    collect_sink out;
    EXPECT_EQ(link::segment_in_software(super, o, out, instant{}), 4u);
    ASSERT_EQ(out.frames.size(), 4u);
    std::vector<std::byte> joined;
    for (std::size_t i = 0; i < out.frames.size(); ++i) {
        auto c = parse_frame(out.frames[i]);  // verifies IP and TCP checksums
        ASSERT_TRUE(c.ip && c.tcp) << "piece " << i << " does not verify";
        EXPECT_EQ(c.ip->identification(), static_cast<std::uint16_t>(0x1234 + i));
        EXPECT_EQ(c.tcp->seq, seq_number{static_cast<std::uint32_t>(1000 + 1448 * i)});
        EXPECT_EQ(c.tcp->payload.size(), i < 3 ? 1448u : 5000u - 3 * 1448);
        const bool last = i == 3;
        EXPECT_EQ(c.tcp->flags.fin, last);
        EXPECT_EQ(c.tcp->flags.psh, last);
        EXPECT_EQ(c.tcp->flags.cwr, i == 0);
        EXPECT_TRUE(c.tcp->options.timestamps) << "every piece repeats the header and options";
        joined.insert(joined.end(), c.tcp->payload.begin(), c.tcp->payload.end());
    }
    EXPECT_EQ(joined, payload);
}

// ---------------------------------------------------------------- receive

TEST(OffloadReceive, A64KiBSuperFrameWithAPartialChecksumIsAcceptedAndAckedAtOnce) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 80, 4);
    const auto isn = handshake(h, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now).value();
    h.clear();

    const auto payload = pattern(65000, 9);  // 65000 + 20 + 20 = one 65,040-byte IP packet
    auto seg = peer_segment(seq_number{1001});
    seg.flags.ack = seg.flags.psh = true;
    seg.ack = isn + 1;
    seg.window = 4096;
    seg.payload = payload;
    auto super = h.tcp(seg);
    ASSERT_GT(super.size(), 65000u);
    store_be16(super, 34 + 16, pseudo_header_sum(h.them(), h.us(), 20 + payload.size()));  // partial

    // Without the link's word the checksum is checked (replay and fuzz paths): dropped.
    h.inject(super);
    EXPECT_EQ(h.stack.stats().tcp.in_errs, 1u);
    EXPECT_EQ(h.pending(), 0u);

    link::rx_offload off;
    off.needs_csum = true;
    off.gso = link::gso_kind::tcpv4;
    off.gso_size = 1460;
    h.stack.receive(super, h.now, off);
    EXPECT_EQ(h.stack.stats().link.in_checksum_offloaded, 1u);
    EXPECT_EQ(h.stack.stats().link.in_gso_frames, 1u);
    // RFC 5681 §4.2: an ACK for at least every second full-sized segment -- a super-frame is 44.
    ASSERT_EQ(h.pending(), 1u) << "the ACK leaves at once, not after the delayed-ACK timer";
    auto ack = h.next();
    ASSERT_TRUE(ack.tcp);
    EXPECT_EQ(ack.tcp->ack, seq_number{1001 + 65000});
    std::vector<std::byte> got(70000);
    auto n = h.stack.tcp_receive(c, got, h.now);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, payload.size());
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), got.begin()));

    // A normal-sized frame marked DATA_VALID with a wrong checksum is taken too.
    auto small = peer_segment(seq_number{1001 + 65000});
    small.flags.ack = true;
    small.ack = isn + 1;
    small.window = 4096;
    const std::string text = "checked by the kernel";
    small.payload = as_bytes_of(text);
    auto f = h.tcp(small);
    store_be16(f, 34 + 16, 0xdead);
    link::rx_offload valid;
    valid.data_valid = true;
    h.stack.receive(f, h.now, valid);
    n = h.stack.tcp_receive(c, got, h.now);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, text.size());
}

// ---------------------------------------------------------------- send

TEST(OffloadSend, NewDataLeavesAsTsoSuperSegmentsRetransmissionsAsOneMss) {
    auto cfg = harness::default_config();
    cfg.tcp.gso_max_bytes = link::max_gso_payload;
    harness h{cfg};
    offload_sink out;
    h.learn_peer();
    auto l = listen_on(h, 80, 4);
    const auto isn = handshake(h, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now).value();
    h.clear();
    h.stack.set_output(out);

    const auto data = pattern(200000, 5);
    auto n = h.stack.tcp_send(c, data, h.now);
    ASSERT_TRUE(n);
    h.stack.poll(h.now);
    ASSERT_FALSE(out.offloaded.empty()) << "the initial window (10 segments) goes as one super-segment";
    const auto& f = out.offloaded.front();
    const auto& o = out.requests.front();
    EXPECT_EQ(o.gso, link::gso_kind::tcpv4);
    EXPECT_EQ(o.gso_size, 1460) << "the MSS (no timestamps negotiated)";
    EXPECT_EQ(o.hdr_len, 14 + 20 + 20);
    EXPECT_TRUE(o.needs_csum);
    EXPECT_EQ(o.csum_start, 34);
    EXPECT_EQ(o.csum_offset, 16);
    EXPECT_EQ(f.size(), 14u + 20 + 20 + 10 * 1460) << "RFC 6928 initial window, cut by the link into 10";
    EXPECT_EQ(load_be16(f, 14 + 2), 20u + 20 + 10 * 1460) << "IP total length of the whole super-packet";
    EXPECT_EQ(load_be16(f, 34 + 16), pseudo_header_sum(h.us(), h.them(), 20 + 10 * 1460));
    EXPECT_EQ(load_be32(f, 34 + 4), (isn + 1).value());
    EXPECT_EQ(h.stack.stats().link.out_gso_frames, out.offloaded.size());

    // The link cuts it into ten valid segments carrying the first 14,600 bytes.
    collect_sink cut;
    ASSERT_EQ(link::segment_in_software(f, o, cut, h.now), 10u);
    std::vector<std::byte> joined;
    for (const auto& piece : cut.frames) {
        auto p = parse_frame(piece);
        ASSERT_TRUE(p.tcp);
        joined.insert(joined.end(), p.tcp->payload.begin(), p.tcp->payload.end());
    }
    EXPECT_TRUE(std::equal(joined.begin(), joined.end(), data.begin()));

    // Nothing is acknowledged: the RTO resends one MSS from snd_una, as an ordinary frame.
    out.plain.clear();
    out.offloaded.clear();
    h.stack.set_output(out);
    const instant deadline = h.stack.poll(h.now).value();
    h.now = deadline;
    h.stack.poll(h.now);
    ASSERT_EQ(out.offloaded.size(), 0u);
    ASSERT_EQ(out.plain.size(), 1u);
    auto r = parse_frame(out.plain.front());
    ASSERT_TRUE(r.tcp);
    EXPECT_EQ(r.tcp->seq, isn + 1);
    EXPECT_EQ(r.tcp->payload.size(), 1460u);
}

TEST(OffloadSend, OffWhenNotConfiguredEverySegmentIsOneMss) {
    harness h;  // gso_max_bytes = 0
    offload_sink out;
    h.learn_peer();
    auto l = listen_on(h, 80, 4);
    handshake(h, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now).value();
    h.stack.set_output(out);
    ASSERT_TRUE(h.stack.tcp_send(c, pattern(100000, 1), h.now));
    h.stack.poll(h.now);
    EXPECT_TRUE(out.offloaded.empty());
    ASSERT_EQ(out.plain.size(), 10u);
    for (const auto& f : out.plain) EXPECT_LE(f.size(), 1514u);
}

// ---------------------------------------------------------------- bulk with TSO, cut in software

namespace {

struct tso_transfer {
    stack_stats client, server;
    std::size_t client_received = 0, server_received = 0, mismatches = 0;
    bool hashes_match = false;
};

void run_tso_transfer(double drop, std::size_t bytes_each_way, tso_transfer& r) {
    link::memory_link_config wc;
    wc.queue_frames = 4096;
    link::memory_link wire{wc};
    link::fault_config faults;
    faults.drop = drop;
    faults.seed = 5;
    auto fb = faults;
    fb.seed = 99;
    // The fault injector keeps frame_sink's default send_offloaded: super-segments are cut in
    // software before the faults (a lost piece is a lost MSS-sized segment, as on a real link).
    link::fault_injector inject_a{faults, wire.side_a()};
    link::fault_injector inject_b{fb, wire.side_b()};
    auto ca = bulk_config_for(1, 11);
    auto cb = bulk_config_for(2, 22);
    ca.tcp.gso_max_bytes = cb.tcp.gso_max_bytes = link::max_gso_payload;
    tapstack::stack client{ca, inject_a};
    tapstack::stack server{cb, inject_b};
    wire.attach(client, server);
    bulk_endpoint c{client, wire, 1, 2, bytes_each_way};
    bulk_endpoint s{server, wire, 2, 1, bytes_each_way};
    ASSERT_TRUE(run_bulk_pair(client, server, wire, c, s,
                              [&](instant now) {
                                  inject_a.flush(now);
                                  inject_b.flush(now);
                              }))
        << "client sent " << c.sent << " received " << c.received << "; server sent " << s.sent << " received "
        << s.received;
    EXPECT_EQ(c.failure, errc::success);
    EXPECT_EQ(s.failure, errc::success);
    r.client = client.stats();
    r.server = server.stats();
    r.client_received = c.received;
    r.server_received = s.received;
    r.mismatches = c.mismatches + s.mismatches;
    r.hashes_match = c.received_hash.value == s.sent_hash.value && s.received_hash.value == c.sent_hash.value;
}

}  // namespace

TEST(OffloadTransfer, TsoBothWaysOverACleanLinkIsByteExact) {
    tso_transfer r;
    run_tso_transfer(0.0, 8u << 20, r);
    EXPECT_EQ(r.client_received, 8u << 20);
    EXPECT_EQ(r.server_received, 8u << 20);
    EXPECT_EQ(r.mismatches, 0u);
    EXPECT_TRUE(r.hashes_match);
    EXPECT_GT(r.client.link.out_gso_frames, 0u);
    EXPECT_GT(r.server.link.out_gso_frames, 0u);
    EXPECT_EQ(r.client.tcp.retrans_segs, 0u);
}

TEST(OffloadTransfer, TsoWithTwoPercentLossRecoversByteExact) {
    tso_transfer r;
    run_tso_transfer(0.02, 4u << 20, r);
    EXPECT_EQ(r.client_received, 4u << 20);
    EXPECT_EQ(r.server_received, 4u << 20);
    EXPECT_EQ(r.mismatches, 0u);
    EXPECT_TRUE(r.hashes_match);
    EXPECT_GT(r.client.link.out_gso_frames, 0u);
    EXPECT_GT(r.client.tcp.retrans_segs, 0u) << "the loss was recovered by retransmission";
}

// ---------------------------------------------------------------- the runtime's vnet header

TEST(OffloadRuntime, StripsTheVnetHeaderOnReadAndPrependsItOnWrite) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    const int peer = fds[1];
    int big = 1 << 20;
    ::setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    boost::asio::io_context io{1};
    harness frames;  // builds the peer's frames only
    tap::runtime_config cfg;
    cfg.stack = harness::default_config();
    cfg.seed = 3;
    auto rt = std::make_unique<tap::runtime>(io, tap::tap_device::adopt(fds[0], "vnet0", true), cfg);
    EXPECT_TRUE(rt->offload());
    EXPECT_EQ(rt->stack().config().tcp.gso_max_bytes, link::max_gso_payload);
    rt->start();
    auto l = rt->stack().tcp_open().value();
    ASSERT_EQ(rt->stack().tcp_bind(l, {ip::address_v4::any(), 80}), errc::success);
    ASSERT_EQ(rt->stack().tcp_listen(l, 4), errc::success);

    auto send = [&](const frame& f, const link::vnet_header& h) {
        std::vector<std::byte> d(10 + f.size());
        h.encode(d);
        std::copy(f.begin(), f.end(), d.begin() + 10);
        ASSERT_EQ(::write(peer, d.data(), d.size()), static_cast<ssize_t>(d.size()));
    };
    auto receive = [&](std::size_t n) {
        std::vector<std::vector<std::byte>> got;
        const auto until = std::chrono::steady_clock::now() + 2s;
        std::vector<std::byte> buf(70000);
        while (got.size() < n && std::chrono::steady_clock::now() < until) {
            io.run_one_for(10ms);
            for (;;) {
                const ssize_t r = ::read(peer, buf.data(), buf.size());
                if (r <= 0) break;
                got.emplace_back(buf.begin(), buf.begin() + r);
            }
        }
        return got;
    };
    send(frames.arp_request(ip::address_v4{10, 0, 0, 2}), {});
    auto syn = peer_segment(seq_number{500});
    syn.flags.syn = true;
    syn.options.mss = 1460;
    syn.options.window_scale = 7;
    send(frames.tcp(syn), {});
    auto got = receive(2);
    ASSERT_EQ(got.size(), 2u);
    for (const auto& d : got) {
        auto h = link::vnet_header::parse(d);
        ASSERT_TRUE(h);
        EXPECT_EQ(*h, link::vnet_header{}) << "an ordinary frame goes behind an all-zero header";
    }
    const frame synack_frame(got[1].begin() + 10, got[1].end());
    auto synack = parse_frame(synack_frame);
    ASSERT_TRUE(synack.tcp);
    auto ack = peer_segment(seq_number{501});
    ack.flags.ack = true;
    ack.ack = synack.tcp->seq + 1;
    ack.window = 4096;
    send(frames.tcp(ack), {});
    socket_handle c{};
    for (int i = 0; i < 50 && !c.valid(); ++i) {
        io.run_one_for(5ms);
        if (auto a = rt->stack().tcp_accept(l, rt->now())) c = *a;
    }
    ASSERT_TRUE(c.valid());

    // Inbound: a super-frame with a partial checksum behind a GSO header.
    const auto payload = pattern(30000, 4);
    auto seg = peer_segment(seq_number{501});
    seg.flags.ack = true;
    seg.ack = synack.tcp->seq + 1;
    seg.window = 4096;
    seg.payload = payload;
    auto super = frames.tcp(seg);
    store_be16(super, 34 + 16, pseudo_header_sum(frames.them(), frames.us(), 20 + payload.size()));
    link::vnet_header gso;
    gso.flags = link::vnet_header::flag_needs_csum;
    gso.gso_type = 1;
    gso.gso_size = 1460;
    gso.hdr_len = 54;
    gso.csum_start = 34;
    gso.csum_offset = 16;
    send(super, gso);
    got = receive(1);
    ASSERT_GE(got.size(), 1u);
    auto acked = parse_frame(frame(got.back().begin() + 10, got.back().end()));
    ASSERT_TRUE(acked.tcp);
    EXPECT_EQ(acked.tcp->ack, seq_number{501 + 30000});
    EXPECT_EQ(rt->stats().rx_gso_frames, 1u);

    // Outbound: 20 KiB from the application leave as one super-segment behind a GSO header.
    ASSERT_TRUE(rt->stack().tcp_send(c, pattern(20000, 8), rt->now()));
    rt->poll_now();
    got = receive(1);
    ASSERT_GE(got.size(), 1u);
    auto h = link::vnet_header::parse(got.front());
    ASSERT_TRUE(h);
    EXPECT_EQ(h->gso_type, 1);
    EXPECT_EQ(h->gso_size, 1460);
    EXPECT_EQ(h->flags, link::vnet_header::flag_needs_csum);
    EXPECT_EQ(h->csum_start, 34);
    EXPECT_EQ(h->csum_offset, 16);
    EXPECT_EQ(got.front().size(), 10u + 54 + 10 * 1460) << "the initial window in one write";
    EXPECT_EQ(rt->stats().tx_gso_frames, 1u);
    rt.reset();
    ::close(peer);
}
