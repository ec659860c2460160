#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include <tapstack/wire/tcp.hpp>

#include "wire_fixtures.hpp"

using namespace tapstack;
using namespace tapstack::wire;
using test_wire::our_ip;
using test_wire::peer_ip;

namespace {

std::vector<std::byte> syn_segment() {
    const auto frame = test_wire::from_hex(test_wire::tcp_syn_hex);
    return {frame.begin() + 34, frame.end()};
}

parse_result<tcp_options> options_of(std::string_view hex) {
    static std::vector<std::byte> storage;  // keeps the bytes alive; results hold no spans
    storage = test_wire::from_hex(hex);
    return decode_tcp_options(storage);
}

std::vector<std::byte> encode(const tcp_segment& s, const ip::address& src = peer_ip, const ip::address& dst = our_ip) {
    std::vector<std::byte> out(s.encoded_size());
    encode_tcp(s, out, src, dst);
    return out;
}

void expect_same_segment(const tcp_segment& a, const tcp_segment& b) {
    EXPECT_EQ(a.source_port, b.source_port);
    EXPECT_EQ(a.destination_port, b.destination_port);
    EXPECT_EQ(a.seq, b.seq);
    EXPECT_EQ(a.ack, b.ack);
    EXPECT_EQ(a.flags, b.flags);
    EXPECT_EQ(a.window, b.window);
    EXPECT_EQ(a.urgent_pointer, b.urgent_pointer);
    EXPECT_EQ(a.options, b.options);
    EXPECT_TRUE(std::equal(a.payload.begin(), a.payload.end(), b.payload.begin(), b.payload.end()));
}

}  // namespace

TEST(TcpView, ParsesRealLinuxSyn) {
    const auto seg = syn_segment();
    auto v = tcp_view::parse(seg, peer_ip, our_ip);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->source_port(), 48120);
    EXPECT_EQ(v->destination_port(), 80);
    EXPECT_EQ(v->seq(), seq_number{0x5a1b2c3d});
    EXPECT_EQ(v->ack(), seq_number{0});
    EXPECT_EQ(v->header_length(), 40);
    EXPECT_EQ(v->window(), 64240);
    EXPECT_EQ(v->urgent_pointer(), 0);
    EXPECT_EQ(v->options().size(), 20u);
    EXPECT_TRUE(v->payload().empty());
    tcp_flags syn;
    syn.syn = true;
    EXPECT_EQ(v->flags(), syn);

    auto s = v->decode();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->options.mss, 1460);
    EXPECT_TRUE(s->options.sack_permitted);
    ASSERT_TRUE(s->options.timestamps);
    EXPECT_EQ(s->options.timestamps->value, 2749380412u);
    EXPECT_EQ(s->options.timestamps->echo, 0u);
    EXPECT_EQ(s->options.window_scale, 7);
    EXPECT_EQ(s->options.sack_count, 0);
    EXPECT_EQ(s->sequence_length(), 1u);
}

TEST(TcpView, EncodeReproducesRealLinuxSyn) {
    const auto seg = syn_segment();
    auto s = tcp_view::parse(seg, peer_ip, our_ip)->decode();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->options.encoded_size(), 20u);
    EXPECT_EQ(encode(*s), seg);  // options in Linux order and the checksum 0x1b4f
}

TEST(TcpView, EveryTruncationFails) {
    const auto seg = syn_segment();
    for (std::size_t n = 0; n < seg.size(); ++n) {
        auto r = tcp_view::parse(bytes{seg}.first(n), peer_ip, our_ip);
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error(), n < tcp_min_header_size ? parse_error::truncated : parse_error::bad_header_length) << n;
        auto u = tcp_view::parse_unchecked(bytes{seg}.first(n));
        ASSERT_FALSE(u) << n;
    }
}

TEST(TcpView, TruncatedPayloadFailsTheChecksum) {
    tcp_segment s;
    s.source_port = 1;
    s.destination_port = 2;
    const auto data = test_wire::from_hex("0102030405060708090a");
    s.payload = data;
    const auto wire_bytes = encode(s);
    for (std::size_t n = tcp_min_header_size; n < wire_bytes.size(); ++n) {
        auto r = tcp_view::parse(bytes{wire_bytes}.first(n), peer_ip, our_ip);
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error(), parse_error::bad_checksum);
    }
    EXPECT_TRUE(tcp_view::parse(wire_bytes, peer_ip, our_ip));
}

TEST(TcpView, RejectsBadChecksum) {
    const auto seg = syn_segment();
    for (std::size_t at = 0; at < seg.size(); ++at) {
        if (at == 12) continue;  // the data offset is checked first
        auto bad = seg;
        bad[at] ^= std::byte{0x04};
        auto r = tcp_view::parse(bad, peer_ip, our_ip);
        ASSERT_FALSE(r) << at;
        EXPECT_EQ(r.error(), parse_error::bad_checksum) << at;
        EXPECT_TRUE(tcp_view::parse_unchecked(bad)) << at;
    }
    // Right bytes, wrong pseudo-header. (Swapping source and destination would not show: the
    // one's-complement sum is commutative.)
    EXPECT_TRUE(tcp_view::parse(seg, our_ip, peer_ip));
    EXPECT_EQ(tcp_view::parse(seg, peer_ip, ip::address{ip::address_v4(10, 0, 0, 9)}).error(),
              parse_error::bad_checksum);
}

TEST(TcpView, RejectsBadDataOffset) {
    auto seg = syn_segment();
    for (unsigned off = 0; off < 5; ++off) {
        seg[12] = std::byte(static_cast<unsigned char>(off << 4));
        EXPECT_EQ(tcp_view::parse_unchecked(seg).error(), parse_error::bad_header_length) << off;
        EXPECT_EQ(tcp_view::parse(seg, peer_ip, our_ip).error(), parse_error::bad_header_length) << off;
    }
    seg[12] = std::byte{0xb0};  // 44 bytes of header in a 40-byte segment
    EXPECT_EQ(tcp_view::parse_unchecked(seg).error(), parse_error::bad_header_length);
    seg[12] = std::byte{0x50};  // shorter header: the option bytes become payload, checksum changes
    EXPECT_EQ(tcp_view::parse(seg, peer_ip, our_ip).error(), parse_error::bad_checksum);
    auto u = tcp_view::parse_unchecked(seg);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->payload().size(), 20u);
    EXPECT_TRUE(u->options().empty());
}

TEST(TcpView, DecodeReportsBadOptions) {
    auto seg = syn_segment();
    seg[21] = std::byte{5};  // MSS with length 5
    auto v = tcp_view::parse_unchecked(seg);
    ASSERT_TRUE(v);
    auto s = v->decode();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), parse_error::bad_option);
}

TEST(TcpFlags, ByteRoundTripForAllValues) {
    for (unsigned b = 0; b < 256; ++b) {
        const auto f = tcp_flags::from_byte(static_cast<std::uint8_t>(b));
        EXPECT_EQ(f.to_byte(), b);
    }
    tcp_flags f;
    f.fin = f.ack = true;
    EXPECT_EQ(f.to_byte(), 0x11);
    f = {};
    f.cwr = f.ece = f.urg = f.psh = f.rst = f.syn = true;
    EXPECT_EQ(f.to_byte(), 0xee);
}

TEST(TcpOptions, EmptyAndPaddingOnly) {
    auto r = options_of("");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, tcp_options{});
    r = options_of("01010101");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, tcp_options{});
}

TEST(TcpOptions, EndOfListStopsParsing) {
    auto r = options_of("020405b4 00 ff01ff");  // garbage after EOL is padding
    ASSERT_TRUE(r);
    EXPECT_EQ(r->mss, 1460);
    r = options_of("00 020405b4");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->mss);
}

TEST(TcpOptions, UnknownKindsSkippedByDeclaredLength) {
    // Kind 30 (MPTCP) with 6 bytes, kind 254 (experimental) with 2 bytes, then WS.
    auto r = options_of("1e06aabbccdd fe02 030308");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->window_scale, 8);
    EXPECT_FALSE(r->mss);
}

TEST(TcpOptions, LengthZeroOrOneIsBad) {
    for (auto hex : {"0200", "0201", "fe00", "fe01", "0101fe00", "0800"}) {
        auto r = options_of(hex);
        ASSERT_FALSE(r) << hex;
        EXPECT_EQ(r.error(), parse_error::bad_option) << hex;
    }
}

TEST(TcpOptions, MissingLengthByteIsBad) {
    for (auto hex : {"02", "010102", "fe", "020405b4 08"}) {
        auto r = options_of(hex);
        ASSERT_FALSE(r) << hex;
        EXPECT_EQ(r.error(), parse_error::bad_option) << hex;
    }
}

TEST(TcpOptions, LengthRunningPastTheEndIsBad) {
    for (auto hex : {"020405", "fe05aabb", "080a00000000000000", "0101fe08aabbcc", "050a00000001000000"}) {
        auto r = options_of(hex);
        ASSERT_FALSE(r) << hex;
        EXPECT_EQ(r.error(), parse_error::bad_option) << hex;
    }
}

TEST(TcpOptions, KnownKindWithWrongLengthIsBad) {
    for (auto hex : {"02030000", "0205000000", "0302", "03040000", "040300", "04040000", "080900000000000000",
                     "080b000000000000000000", "0502", "050300", "050b000000010000000200"}) {
        auto r = options_of(hex);
        ASSERT_FALSE(r) << hex;
        EXPECT_EQ(r.error(), parse_error::bad_option) << hex;
    }
}

TEST(TcpOptions, TooManySackBlocksIsBad) {
    // Five blocks (length 42) cannot appear in a real header; decode_tcp_options refuses it too.
    std::string hex = "052a";
    for (int i = 0; i < 5; ++i) hex += "0000000100000002";
    auto r = options_of(hex);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), parse_error::bad_option);
}

TEST(TcpOptions, SackBlocksDecoded) {
    auto r = options_of("0101 0512 00000064 000000c8 fffffff0 00000010");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->sack_count, 2);
    EXPECT_EQ(r->sack[0], (sack_block{seq_number{100}, seq_number{200}}));
    EXPECT_EQ(r->sack[1], (sack_block{seq_number{0xfffffff0}, seq_number{0x10}}));
    EXPECT_EQ(r->sack[2], sack_block{});
    r = options_of("0522 00000001000000020000000300000004000000050000000600000007 00000008");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->sack_count, 4);
    EXPECT_EQ(r->sack[3], (sack_block{seq_number{7}, seq_number{8}}));
}

TEST(TcpEncode, SynWithEverythingIsLinuxLayout) {
    tcp_segment s;
    s.flags.syn = true;
    s.options.mss = 1460;
    s.options.sack_permitted = true;
    s.options.timestamps = tcp_timestamps{0x01020304, 0};
    s.options.window_scale = 7;
    const auto out = encode(s);
    ASSERT_EQ(out.size(), 40u);
    EXPECT_EQ(std::vector<std::byte>(out.begin() + 20, out.end()),
              test_wire::from_hex("020405b4 0402 080a0102030400000000 01 030307"));
    EXPECT_EQ(out[12], std::byte{0xa0});
}

TEST(TcpEncode, SynWithoutTimestampsIsLinuxLayout) {
    tcp_segment s;
    s.flags.syn = true;
    s.options.mss = 1460;
    s.options.sack_permitted = true;
    s.options.window_scale = 7;
    const auto out = encode(s);
    ASSERT_EQ(out.size(), 32u);
    // Linux: MSS, NOP WS, NOP NOP SACKOK.
    EXPECT_EQ(std::vector<std::byte>(out.begin() + 20, out.end()), test_wire::from_hex("020405b4 01030307 01010402"));
}

TEST(TcpEncode, DataSegmentTimestampsAndSack) {
    tcp_segment s;
    s.flags.ack = true;
    s.options.timestamps = tcp_timestamps{7, 9};
    EXPECT_EQ(s.options.encoded_size(), 12u);
    auto out = encode(s);
    EXPECT_EQ(std::vector<std::byte>(out.begin() + 20, out.end()), test_wire::from_hex("0101080a 00000007 00000009"));

    s.options.sack_count = 2;
    s.options.sack[0] = {seq_number{100}, seq_number{200}};
    s.options.sack[1] = {seq_number{300}, seq_number{400}};
    EXPECT_EQ(s.options.encoded_size(), 32u);
    out = encode(s);
    EXPECT_EQ(std::vector<std::byte>(out.begin() + 20, out.end()),
              test_wire::from_hex("0101080a0000000700000009 01010512 00000064000000c8 0000012c00000190"));
}

TEST(TcpEncode, SackBlocksLimitedToTheOptionSpace) {
    tcp_segment s;
    s.flags.ack = true;
    s.options.sack_count = 4;
    for (std::uint32_t i = 0; i < 4; ++i) s.options.sack[i] = {seq_number{i * 10}, seq_number{i * 10 + 5}};
    EXPECT_EQ(s.options.encoded_size(), 36u);  // four blocks fit without timestamps
    s.options.timestamps = tcp_timestamps{1, 2};
    EXPECT_EQ(s.options.encoded_size(), 40u);  // three next to timestamps, like Linux
    const auto out = encode(s);
    auto back = tcp_view::parse(out, peer_ip, our_ip)->decode();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->options.sack_count, 3);
    EXPECT_EQ(back->options.sack[2], s.options.sack[2]);
    EXPECT_EQ(back->options.sack[3], sack_block{});
}

TEST(TcpEncode, EncodedSizeIsAMultipleOfFour) {
    for (unsigned mask = 0; mask < 32; ++mask) {
        tcp_options o;
        if (mask & 1) o.mss = 536;
        if (mask & 2) o.sack_permitted = true;
        if (mask & 4) o.timestamps = tcp_timestamps{1, 1};
        if (mask & 8) o.window_scale = 14;
        if (mask & 16) o.sack_count = 1;
        EXPECT_EQ(o.encoded_size() % 4, 0u) << mask;
        EXPECT_LE(o.encoded_size(), tcp_max_options_size) << mask;
    }
}

TEST(TcpEncode, RoundTripRandomSegments) {
    std::mt19937 rng{9293};
    std::vector<std::byte> payload_bytes(100);
    for (auto& b : payload_bytes) b = std::byte(static_cast<unsigned char>(rng()));
    const auto v6a = ip::address::from_string("2001:db8::a").value();
    const auto v6b = ip::address::from_string("2001:db8::b").value();
    for (int round = 0; round < 1000; ++round) {
        tcp_segment s;
        s.source_port = static_cast<std::uint16_t>(rng());
        s.destination_port = static_cast<std::uint16_t>(rng());
        s.seq = seq_number{static_cast<std::uint32_t>(rng())};
        s.ack = seq_number{static_cast<std::uint32_t>(rng())};
        s.flags = tcp_flags::from_byte(static_cast<std::uint8_t>(rng()));
        s.window = static_cast<std::uint16_t>(rng());
        s.urgent_pointer = static_cast<std::uint16_t>(rng());
        if (rng() & 1) s.options.mss = static_cast<std::uint16_t>(rng());
        if (rng() & 1) s.options.window_scale = static_cast<std::uint8_t>(rng() % 15);
        s.options.sack_permitted = (rng() & 1) != 0;
        if (rng() & 1)
            s.options.timestamps = tcp_timestamps{static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng())};
        s.options.sack_count = static_cast<std::uint8_t>(rng() % 5);
        for (std::size_t i = 0; i < s.options.sack_count; ++i)
            s.options.sack[i] = {seq_number{static_cast<std::uint32_t>(rng())},
                                 seq_number{static_cast<std::uint32_t>(rng())}};
        // Keep only the blocks that fit, as encode() does; then decode must give s back exactly.
        tcp_options without_sack = s.options;
        without_sack.sack_count = 0;
        const std::size_t room = (tcp_max_options_size - without_sack.encoded_size());
        const std::size_t fit = room >= 12 ? (room - 4) / 8 : 0;
        if (s.options.sack_count > fit) {
            for (std::size_t i = fit; i < 4; ++i) s.options.sack[i] = {};
            s.options.sack_count = static_cast<std::uint8_t>(fit);
        }
        s.payload = bytes{payload_bytes}.first(rng() % 101);
        const bool v6 = (round % 3) == 0;
        const auto& src = v6 ? v6a : peer_ip;
        const auto& dst = v6 ? v6b : our_ip;
        const auto out = encode(s, src, dst);
        ASSERT_EQ(out.size(), s.encoded_size());
        auto v = tcp_view::parse(out, src, dst);
        ASSERT_TRUE(v) << round;
        auto back = v->decode();
        ASSERT_TRUE(back) << round;
        expect_same_segment(*back, s);
        if (HasFailure()) return;
    }
}

TEST(TcpEncode, PayloadAlreadyInPlaceIsKept) {
    std::vector<std::byte> out(20 + 12 + 5);
    const auto data = test_wire::from_hex("68656c6c6f");
    std::copy(data.begin(), data.end(), out.begin() + 32);
    tcp_segment s;
    s.flags.ack = s.flags.psh = true;
    s.options.timestamps = tcp_timestamps{1, 2};
    s.payload = bytes{out}.subspan(32);
    encode_tcp(s, out, peer_ip, our_ip);
    auto v = tcp_view::parse(out, peer_ip, our_ip);
    ASSERT_TRUE(v);
    EXPECT_TRUE(std::equal(v->payload().begin(), v->payload().end(), data.begin(), data.end()));
}
