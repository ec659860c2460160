// Issue 15: what leaves a TAP with a vnet header, once the kernel has segmented it (GSO) and
// completed its checksum (CHECKSUM_PARTIAL), equals what the plain path (offload off) sends,
// frame for frame and byte for byte. The offload path's output goes through the reference
// segmenter and checksummer of tests/support/reference_gso.hpp; a scripted peer drives both
// runs the same way (it acknowledges everything it received after each round, and may send a
// PMTU report). Swept over transfer sizes, peer MSS values, option sets, path MTU reductions,
// IPv4 and IPv6.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <tapstack/link/offload.hpp>
#include <tapstack/wire/icmpv6.hpp>
#include <tapstack/wire/ipv6.hpp>
#include "harness.hpp"
#include "reference_gso.hpp"

using namespace tapstack;
using namespace tapstack::testing;

namespace {

enum class mode { plain, gso, gso_and_csum };

struct params {
    bool v6 = false;
    std::optional<std::uint16_t> mss = 1460;  // the peer's SYN option; nullopt: none
    bool ts = false, sack = false, ws = false;
    bool hole = false;  // the peer sends data with a hole: our segments carry a SACK block
    std::size_t size = 10000;
    std::uint16_t pmtu = 0;  // reported after the first data arrives; 0: none
    std::uint16_t window = 65535;

    std::string name() const {
        std::ostringstream o;
        o << (v6 ? "v6" : "v4") << " mss=" << (mss ? std::to_string(*mss) : "none") << (ts ? " ts" : "")
          << (sack ? " sack" : "") << (ws ? " ws" : "") << (hole ? " hole" : "") << " size=" << size;
        if (pmtu) o << " pmtu=" << pmtu;
        if (window != 65535) o << " wnd=" << window;
        return o.str();
    }
};

const ip::address_v6 peer6 = *ip::address_v6::from_string("2001:db8::1");
const ip::address_v6 us6 = *ip::address_v6::from_string("2001:db8::2");

stack_config config_for(mode m) {
    stack_config c = harness::default_config();
    c.ipv6 = ip::interface_address_v6{us6, 64};
    c.dad_transmits = 0;
    c.ipv6_send_router_solicitation = false;
    if (m != mode::plain) c.tcp.gso_max_bytes = link::max_gso_payload;
    c.tx_checksum_offload = m == mode::gso_and_csum;
    return c;
}

/// The fields of a TCP frame the peer needs, read without trusting the checksum.
struct tcp_seen {
    std::uint32_t seq = 0;
    std::uint8_t flags = 0;
    std::size_t tcp_length = 0, payload = 0;
    std::optional<std::uint32_t> tsval;
};

std::optional<tcp_seen> read_tcp(const frame& f) {
    if (f.size() < 14 + 20) return std::nullopt;
    const std::uint16_t type = load_be16(f, 12);
    std::size_t l4 = 0;
    if (type == 0x0800 && load_u8(f, 14 + 9) == 6)
        l4 = 14 + std::size_t{load_u8(f, 14) & 0x0fu} * 4;
    else if (type == 0x86dd && f.size() >= 54 && load_u8(f, 14 + 6) == 6)
        l4 = 54;
    if (l4 == 0 || f.size() < l4 + 20) return std::nullopt;
    tcp_seen s;
    s.seq = load_be32(f, l4 + 4);
    s.flags = load_u8(f, l4 + 13);
    const std::size_t hl = static_cast<std::size_t>(load_u8(f, l4 + 12) >> 4) * 4;
    s.tcp_length = f.size() - l4;
    s.payload = s.tcp_length - hl;
    for (std::size_t i = l4 + 20; i < l4 + hl;) {
        const auto kind = load_u8(f, i);
        if (kind == 0) break;
        if (kind == 1) {
            ++i;
            continue;
        }
        const auto len = load_u8(f, i + 1);
        if (kind == 8 && len == 10) s.tsval = load_be32(f, i + 2);
        if (len < 2) break;
        i += len;
    }
    return s;
}

/// The IPv4 header checksum and the TCP checksum of a frame as a receiver would check them.
bool checksums_verify(const frame& f) {
    if (f.size() < 14 + 20) return true;
    const std::uint16_t type = load_be16(f, 12);
    if (type == 0x0800 && load_u8(f, 14 + 9) == 6) {
        const std::size_t ihl = static_cast<std::size_t>(load_u8(f, 14) & 0x0fu) * 4;
        if (wire::internet_checksum(bytes{f}.subspan(14, ihl)) != 0) return false;
        const ip::address src{ip::address_v4{load_be32(f, 26)}}, dst{ip::address_v4{load_be32(f, 30)}};
        return wire::tcp_view::parse(bytes{f}.subspan(14 + ihl), src, dst).has_value();
    }
    if (type == 0x86dd && f.size() >= 54 && load_u8(f, 14 + 6) == 6)
        return wire::tcp_view::parse(bytes{f}.subspan(54), ip::address{us6}, ip::address{peer6}).has_value();
    return true;
}

class rig {
public:
    rig(const params& p, mode m) : p_{p}, h_{config_for(m)} {
        h_.stack.poll(h_.now);
        if (p.v6)
            h_.inject(neighbor_solicitation());
        else
            h_.learn_peer();
        h_.clear();
        h_.stack.set_output(wire);
    }

    /// Runs the scripted exchange; returns every frame the wire carried.
    void run() {
        auto& st = h_.stack;
        auto l = st.tcp_open().value();
        const ip::address any = p_.v6 ? ip::address{ip::address_v6::any()} : ip::address{ip::address_v4::any()};
        ASSERT_EQ(st.tcp_bind(l, {any, 80}), errc::success);
        ASSERT_EQ(st.tcp_listen(l, 4), errc::success);

        wire::tcp_segment syn = peer_segment(1000);
        syn.flags.syn = true;
        syn.options.mss = p_.mss;
        if (p_.ws) syn.options.window_scale = 2;
        syn.options.sack_permitted = p_.sack;
        if (p_.ts) syn.options.timestamps = wire::tcp_timestamps{peer_ts_++, 0};
        inject(syn);
        const auto synack = last_tcp();
        ASSERT_TRUE(synack && (synack->flags & 0x12) == 0x12) << "no SYN-ACK";
        iss_ = synack->seq;
        seen(*synack);
        wire::tcp_segment ack = peer_segment(1001);
        ack.flags.ack = true;
        ack.ack = tcp::seq_number{iss_ + 1};
        inject(ack);
        auto c = st.tcp_accept(l, h_.now);
        ASSERT_TRUE(c);
        if (p_.hole) {
            wire::tcp_segment d = peer_segment(1001 + 100);
            d.flags.ack = true;
            d.ack = tcp::seq_number{iss_ + 1};
            const std::vector<std::byte> ten(10, std::byte{0x5a});
            d.payload = ten;
            inject(d);
        }
        std::vector<std::byte> data(p_.size);
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(static_cast<std::uint8_t>(i * 7 + i / 251));
        // The send buffer follows demand (it starts small): what it does not take now goes later.
        std::size_t sent = 0;
        const auto send_more = [&] {
            if (sent == data.size()) return;
            auto n = st.tcp_send(*c, bytes{data}.subspan(sent), h_.now);
            if (n) sent += *n;
        };
        send_more();
        ASSERT_GT(sent, 0u);
        const std::uint32_t end = iss_ + 1 + static_cast<std::uint32_t>(p_.size);
        std::uint32_t acked = iss_ + 1;
        std::size_t first = 0;  // the first frame the peer has not looked at yet
        for (int round = 0; round < 4000 && acked != end; ++round) {
            send_more();
            st.poll(h_.now);
            std::uint32_t high = acked;
            std::optional<std::size_t> first_data;
            for (std::size_t i = first; i < wire.frames.size(); ++i) {
                auto s = read_tcp(wire.frames[i]);
                if (!s) continue;
                seen(*s);
                if (s->payload == 0) continue;
                if (!first_data) first_data = i;
                const std::uint32_t e = s->seq + static_cast<std::uint32_t>(s->payload);
                if (static_cast<std::int32_t>(e - high) > 0) high = e;
            }
            first = wire.frames.size();
            if (p_.pmtu != 0 && !pmtu_sent_ && first_data) {
                pmtu_sent_ = true;
                pmtu_from = wire.frames.size();
                inject_raw(too_big(wire.frames[*first_data]));
                continue;  // the resend in the new size comes before any ACK
            }
            if (high != acked) {
                acked = high;
                wire::tcp_segment a = peer_segment(1001);
                a.flags.ack = true;
                a.ack = tcp::seq_number{acked};
                inject(a);
            }
            h_.now += std::chrono::milliseconds{1};
        }
        EXPECT_EQ(acked, end) << "the transfer did not complete";
    }

    reference_wire wire;
    std::size_t pmtu_from = 0;  // index of the first frame sent after the PMTU report

private:
    wire::tcp_segment peer_segment(std::uint32_t seq) {
        wire::tcp_segment s;
        s.source_port = 40000;
        s.destination_port = 80;
        s.seq = tcp::seq_number{seq};
        s.window = p_.window;
        if (p_.ts && stack_ts_) s.options.timestamps = wire::tcp_timestamps{peer_ts_++, *stack_ts_};
        return s;
    }
    void seen(const tcp_seen& s) {
        if (s.tsval) stack_ts_ = s.tsval;
    }
    std::optional<tcp_seen> last_tcp() const {
        for (auto it = wire.frames.rbegin(); it != wire.frames.rend(); ++it)
            if (auto s = read_tcp(*it)) return s;
        return std::nullopt;
    }
    void inject_raw(const frame& f) { h_.stack.receive(f, h_.now); }
    void inject(const wire::tcp_segment& s) {
        if (p_.ts && !s.flags.syn && stack_ts_) {
            auto copy = s;
            copy.options.timestamps = wire::tcp_timestamps{peer_ts_++, *stack_ts_};
            return inject_raw(tcp_frame(copy));
        }
        inject_raw(tcp_frame(s));
    }
    frame ipv6(std::uint8_t next_header, bytes payload, const ip::address_v6& dst, std::uint8_t hops = 64) const {
        frame f(54 + payload.size());
        wire::ethernet_header{dst.is_multicast() ? wire::multicast_mac(dst) : h_.stack.config().mac, h_.peer.mac,
                              0x86dd}
            .encode(f);
        wire::ipv6_header ip;
        ip.source = peer6;
        ip.destination = dst;
        ip.next_header = next_header;
        ip.hop_limit = hops;
        ip.encode(mutable_bytes{f}.subspan(14), payload.size());
        copy_bytes(f, 54, payload);
        return f;
    }
    frame neighbor_solicitation() const {
        wire::neighbor_solicitation n;
        n.target = us6;
        n.source_link_layer = h_.peer.mac;
        const auto dst = wire::solicited_node_multicast(us6);
        frame m(n.encoded_size());
        n.encode(m, peer6, dst);
        return ipv6(58, m, dst, 255);
    }
    frame tcp_frame(const wire::tcp_segment& s) const {
        if (!p_.v6) return h_.tcp(s);
        frame t(s.encoded_size());
        wire::encode_tcp(s, t, ip::address{peer6}, ip::address{us6});
        return ipv6(6, t, us6);
    }
    /// ICMP fragmentation needed (RFC 1191) or ICMPv6 Packet Too Big (RFC 8201) about `sent`.
    frame too_big(const frame& sent) const {
        if (!p_.v6) {
            const std::size_t q = std::min<std::size_t>(sent.size() - 14, 20 + 8);
            frame m(8 + q);
            store_u8(m, 0, 3);
            store_u8(m, 1, 4);
            store_be16(m, 6, p_.pmtu);
            copy_bytes(m, 8, bytes{sent}.subspan(14, q));
            store_be16(m, 2, wire::internet_checksum(m));
            return h_.ipv4(1, m);
        }
        const std::size_t q = std::min<std::size_t>(sent.size() - 14, 1280 - 48);
        frame m(8 + q);
        copy_bytes(m, 8, bytes{sent}.subspan(14, q));
        wire::icmpv6_header{2, 0, p_.pmtu}.encode(m, q, peer6, us6);
        return ipv6(58, m, us6);
    }

    params p_;
    harness h_;
    std::uint32_t iss_ = 0;
    std::uint32_t peer_ts_ = 1;
    std::optional<std::uint32_t> stack_ts_;
    bool pmtu_sent_ = false;
};

/// The largest TCP segment (header and options included) the peer allows: its MSS + 20
/// (RFC 9293 §3.7.1), or after a PMTU report the path MTU less the IP header.
/// A PMTU report never takes the payload below 64 bytes (icmp.cpp, lower_path_mss).
std::size_t tcp_limit(const params& p, bool after_pmtu) {
    const std::size_t floor = 48;  // tcp::min_peer_mss
    const std::size_t mss = p.mss ? std::max<std::size_t>(*p.mss, floor) : (p.v6 ? 1220 : 536);
    std::size_t limit = std::min<std::size_t>(mss, p.v6 ? 1440 : 1460) + 20;
    if (after_pmtu) {
        // IPv4: a report below Linux's min_pmtu, 552, is taken as 552 (core/icmp.cpp).
        const std::size_t path = std::max<std::size_t>(p.pmtu, p.v6 ? 1280 : 552) - (p.v6 ? 40 : 20);
        limit = std::min(limit, std::max<std::size_t>(path, 20 + 64 + (p.ts ? 12 : 0)));
    }
    return limit;
}

/// Runs one case in the plain mode and in `m`; returns a description of the first difference
/// ("" when the wires carried the same frames).
std::string compare(const params& p, mode m) {
    rig plain{p, mode::plain};
    plain.run();
    rig off{p, m};
    off.run();
    std::ostringstream why;
    // OFFLOAD_EQ_DUMP=1: print seq/payload/flags of every TCP frame of both runs.
    if (std::getenv("OFFLOAD_EQ_DUMP") != nullptr)
        for (const auto* r : {&plain, &off}) {
            std::fprintf(stderr, "%s:", r == &plain ? "plain" : "off");
            for (const auto& f : r->wire.frames)
                if (auto s = read_tcp(f)) std::fprintf(stderr, " %u/%zu/%x", s->seq % 100000, s->payload, s->flags);
            std::fprintf(stderr, "\n");
        }
    for (std::size_t i = 0; i < plain.wire.frames.size(); ++i) {
        const auto s = read_tcp(plain.wire.frames[i]);
        const std::size_t limit = tcp_limit(p, p.pmtu != 0 && i >= plain.pmtu_from);
        if (s && s->payload > 0 && s->tcp_length > limit) {
            why << "plain frame " << i << ": a TCP segment of " << s->tcp_length << " bytes, above " << limit;
            return why.str();
        }
    }
    if (!off.wire.errors.empty()) return "the kernel would refuse a frame: " + off.wire.errors.front();
    for (const auto* r : {&plain, &off})
        for (std::size_t i = 0; i < r->wire.frames.size(); ++i)
            if (!checksums_verify(r->wire.frames[i])) {
                why << (r == &plain ? "plain" : "offloaded") << " frame " << i
                    << ": a bad IP or TCP checksum on the wire";
                return why.str();
            }
    if (m != mode::plain && off.wire.gso_frames == 0 && p.size > 2 * 1460 && !p.hole && p.window == 65535)
        return "no GSO frame was sent (the sweep does not test GSO)";
    const std::size_t n = std::min(plain.wire.frames.size(), off.wire.frames.size());
    for (std::size_t i = 0; i < n; ++i) {
        const auto& a = plain.wire.frames[i];
        const auto& b = off.wire.frames[i];
        if (a == b) continue;
        why << "frame " << i << " differs: plain " << a.size() << " bytes, offloaded " << b.size() << " bytes";
        if (a.size() == b.size())
            for (std::size_t k = 0; k < a.size(); ++k)
                if (a[k] != b[k]) {
                    why << ", first at byte " << k;
                    break;
                }
        return why.str();
    }
    if (plain.wire.frames.size() != off.wire.frames.size())
        why << "plain sent " << plain.wire.frames.size() << " frames, offloaded " << off.wire.frames.size();
    return why.str();
}

struct option_set {
    bool ts, sack, ws, hole;
};
constexpr option_set option_sets[] = {
    {false, false, false, false}, {true, false, false, false}, {true, true, true, false},
    {false, true, false, true},   {true, true, true, true},
};
const std::optional<std::uint16_t> mss_values[] = {48, 64, 88, 536, 1220, 1440, 1460, std::nullopt};

void sweep(const std::vector<params>& cases) {
    std::size_t failed = 0;
    for (const auto& p : cases)
        for (mode m : {mode::gso, mode::gso_and_csum}) {
            const std::string why = compare(p, m);
            if (why.empty()) continue;
            ++failed;
            ADD_FAILURE() << p.name() << (m == mode::gso ? " [gso]" : " [gso+csum]") << ": " << why;
        }
    EXPECT_EQ(failed, 0u) << "of " << 2 * cases.size() << " runs";
}

std::vector<params> cases_for(bool v6, std::uint16_t pmtu, std::initializer_list<std::size_t> sizes) {
    std::vector<params> v;
    for (const auto& mss : mss_values)
        for (const auto& o : option_sets)
            for (std::size_t size : sizes) {
                params p;
                p.v6 = v6;
                p.mss = mss;
                p.ts = o.ts;
                p.sack = o.sack;
                p.ws = o.ws;
                p.hole = o.hole;
                p.size = size;
                p.pmtu = pmtu;
                v.push_back(p);
            }
    return v;
}

}  // namespace

TEST(OffloadEquivalence, Ipv4SizesMssAndOptions) { sweep(cases_for(false, 0, {1, 100, 537, 1461, 2920, 5000, 30000})); }

TEST(OffloadEquivalence, Ipv6SizesMssAndOptions) { sweep(cases_for(true, 0, {1, 100, 537, 1461, 2920, 5000, 30000})); }

TEST(OffloadEquivalence, Ipv4AfterFragmentationNeeded) {
    for (std::uint16_t mtu : {std::uint16_t{1400}, std::uint16_t{576}, std::uint16_t{68}})
        sweep(cases_for(false, mtu, {3000, 20000}));
}

TEST(OffloadEquivalence, Ipv6AfterPacketTooBig) {
    for (std::uint16_t mtu : {std::uint16_t{1400}, std::uint16_t{1300}, std::uint16_t{1280}})
        sweep(cases_for(true, mtu, {3000, 20000}));
}

TEST(OffloadEquivalence, EverySizeUpToThreeSegmentsAtMss536) {
    std::vector<params> v;
    for (bool v6 : {false, true})
        for (std::size_t size = 1; size <= 3 * 1460 + 1; size += 97) {
            params p;
            p.v6 = v6;
            p.mss = 536;
            p.ts = size % 2 == 0;
            p.size = size;
            v.push_back(p);
        }
    sweep(v);
}

TEST(OffloadEquivalence, WindowLimitedTails) {
    std::vector<params> v;
    for (bool v6 : {false, true})
        for (std::uint16_t w : {std::uint16_t{1000}, std::uint16_t{3000}, std::uint16_t{7000}})
            for (std::optional<std::uint16_t> mss :
                 {std::optional<std::uint16_t>{536}, std::optional<std::uint16_t>{1460}}) {
                params p;
                p.v6 = v6;
                p.mss = mss;
                p.window = w;
                p.size = 20000;
                v.push_back(p);
            }
    sweep(v);
}
