// Fragment reassembly (RFC 8200 §4.5) with RFC 5722's overlap rule, bounded and timed.
#include "v6_harness.hpp"

namespace tapstack::testing {
namespace {
using namespace std::chrono_literals;

/// A UDP datagram to port 7 carrying `n` bytes, split at 8-byte-aligned `cuts`.
struct fragmenter {
    harness6& h;
    std::vector<std::byte> datagram;
    fragmenter(harness6& hh, std::size_t n) : h{hh}, datagram(8 + n) {
        for (std::size_t i = 0; i < n; ++i) datagram[8 + i] = std::byte(i & 0xff);
        wire::udp_header{40000, 7}.encode(datagram, n, ip::address{h.peer}, ip::address{h.us()});
    }
    frame fragment(std::size_t begin, std::size_t end, bool more, std::uint32_t id = 0x1234) const {
        std::vector<std::byte> p(8 + (end - begin));
        wire::ipv6_fragment f;
        f.next_header = 17;
        f.offset = static_cast<std::uint16_t>(begin);
        f.more_fragments = more;
        f.identification = id;
        f.encode(p);
        std::copy(datagram.begin() + static_cast<std::ptrdiff_t>(begin),
                  datagram.begin() + static_cast<std::ptrdiff_t>(end), p.begin() + 8);
        return h.ipv6(44, p);
    }
};

socket_handle bound_udp(harness6& h) {
    auto s = h.stack.udp_open().value();
    EXPECT_EQ(h.stack.udp_bind(s, {ip::address_v6::any(), 7}), errc::success);
    return s;
}

TEST(Ipv6Reassembly, InOrderAndOutOfOrderFragmentsAreJoined) {
    harness6 h;
    auto s = bound_udp(h);
    fragmenter f{h, 3000};
    h.inject(f.fragment(1496, 2992, true));
    h.inject(f.fragment(2992, f.datagram.size(), false));
    EXPECT_EQ(h.stack.udp_bytes_readable(s), 0u);
    h.inject(f.fragment(0, 1496, true));
    ASSERT_EQ(h.stack.udp_bytes_readable(s), 3000u);
    std::vector<std::byte> out(3000);
    ASSERT_TRUE(h.stack.udp_receive_from(s, out));
    EXPECT_TRUE(std::equal(out.begin(), out.end(), f.datagram.begin() + 8));
    EXPECT_EQ(h.stack.stats().ip6.reasm_oks, 1u);
    EXPECT_EQ(h.stack.stats().ip6.reasm_reqds, 3u);
}

TEST(Ipv6Reassembly, AtomicFragmentIsProcessedAlone) {
    harness6 h;
    auto s = bound_udp(h);
    fragmenter f{h, 10};
    h.inject(f.fragment(0, f.datagram.size(), false));
    EXPECT_EQ(h.stack.udp_bytes_readable(s), 10u);
    EXPECT_EQ(h.stack.stats().ip6.reasm_reqds, 0u);
}

TEST(Ipv6Reassembly, OverlapDiscardsTheWholeDatagramIncludingLaterFragments) {
    harness6 h;
    auto s = bound_udp(h);
    fragmenter f{h, 3000};
    h.inject(f.fragment(0, 1496, true));
    h.inject(f.fragment(1488, 2992, true));  // overlaps by 8 bytes
    h.inject(f.fragment(1496, 2992, true));
    h.inject(f.fragment(2992, f.datagram.size(), false));
    EXPECT_EQ(h.stack.udp_bytes_readable(s), 0u);
    EXPECT_EQ(h.stack.stats().ip6.reasm_overlaps, 1u);
    EXPECT_EQ(h.stack.stats().ip6.reasm_oks, 0u);
    EXPECT_EQ(h.pending(), 0u);  // silently (RFC 5722)
}

TEST(Ipv6Reassembly, ExactDuplicateFragmentIsHarmless) {
    harness6 h;
    auto s = bound_udp(h);
    fragmenter f{h, 2000};
    h.inject(f.fragment(0, 1496, true));
    h.inject(f.fragment(0, 1496, true));
    h.inject(f.fragment(1496, f.datagram.size(), false));
    EXPECT_EQ(h.stack.udp_bytes_readable(s), 2000u);
}

TEST(Ipv6Reassembly, TimeoutSendsTimeExceededOnlyWithTheFirstFragment) {
    harness6 h;
    h.learn_peer();
    bound_udp(h);
    fragmenter f{h, 3000};
    h.inject(f.fragment(0, 1496, true, 1));
    h.inject(f.fragment(1496, 2992, true, 2));  // a datagram whose first fragment never comes
    h.advance(59s);
    EXPECT_EQ(h.pending(), 0u);
    h.advance(1s);
    ASSERT_EQ(h.pending(), 1u);
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 3);
    EXPECT_EQ(c.icmp->code(), 1);
    EXPECT_EQ(h.stack.stats().ip6.reasm_fails, 2u);
    h.advance(61s);
    while (h.pending() > 0) EXPECT_EQ(h.next().icmp->type(), 135);  // neighbor probes, no second error
}

TEST(Ipv6Reassembly, FragmentNotAMultipleOf8IsAParameterProblem) {
    harness6 h;
    h.learn_peer();
    bound_udp(h);
    fragmenter f{h, 3000};
    h.inject(f.fragment(0, 1495, true));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 4);
    EXPECT_EQ(c.icmp->code(), 0);
    EXPECT_EQ(c.icmp->rest_of_header(), 4u);  // the Payload Length field
}

TEST(Ipv6Reassembly, BeyondTheMaximumSizeIsAParameterProblemAtTheOffset) {
    harness6 h;
    h.learn_peer();
    bound_udp(h);
    fragmenter f{h, 100};
    std::vector<std::byte> p(8 + 16);
    wire::ipv6_fragment fr{17, 65528, true, 9, 0};
    fr.encode(p);
    h.inject(h.ipv6(44, p));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 4);
    EXPECT_EQ(c.icmp->rest_of_header(), 42u);
}

TEST(Ipv6Reassembly, BuffersAreBoundedAndRecycled) {
    auto cfg = harness6::default_config();
    cfg.ipv6_reassembly_slots = 2;
    harness6 h{cfg};
    auto s = bound_udp(h);
    fragmenter f{h, 2000};
    for (std::uint32_t id = 1; id <= 5; ++id) h.inject(f.fragment(0, 1496, true, id));
    h.inject(f.fragment(1496, f.datagram.size(), false, 5));  // the newest survived
    EXPECT_EQ(h.stack.udp_bytes_readable(s), 2000u);
    EXPECT_EQ(h.stack.stats().ip6.reasm_fails, 3u);
}

}  // namespace
}  // namespace tapstack::testing
