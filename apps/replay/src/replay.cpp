// The replay engine: see <tapstack/replay/replay.hpp>. Two passes over the capture: the first
// validates it and learns the host (MAC, the TCP ports it accepted, the UDP ports it answered
// from); the second feeds the frames the host received into a fresh stack at the capture's
// timestamps and summarises both the recorded host's frames and the stack's, per flow. The
// comparison aligns the two summaries of each flow.
#include <tapstack/replay/replay.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <tapstack/stack.hpp>
#include <tapstack/tap/pcap_reader.hpp>
#include <tapstack/tap/pcap_writer.hpp>
#include <tapstack/wire/checksum.hpp>
#include "replay_services.hpp"

namespace tapstack::tap {

std::optional<replay_app> replay_app_from_string(std::string_view s) noexcept {
    if (s == "echo") return replay_app::echo;
    if (s == "discard") return replay_app::discard;
    if (s == "chargen") return replay_app::chargen;
    if (s == "http-hello") return replay_app::http_hello;
    if (s == "none") return replay_app::none;
    return std::nullopt;
}

std::string_view to_string(replay_app a) noexcept {
    switch (a) {
    case replay_app::echo: return "echo";
    case replay_app::discard: return "discard";
    case replay_app::chargen: return "chargen";
    case replay_app::http_hello: return "http-hello";
    case replay_app::none: return "none";
    }
    return "?";
}

const std::vector<std::string_view>& replay_fields() noexcept {
    static const std::vector<std::string_view> fields{
        "flags",  "seq",        "ack",        "window",         "options",   "wscale",        "tsval",
        "tsecr",  "sack",       "icmp_type",  "icmp_code",      "icmp_id",   "icmp_seq",      "udp_ports",
        "arp_op", "arp_sender", "arp_target", "payload_length", "payload",   "ttl",           "df",
        "dscp",   "eth_dst",    "nd_target",  "nd_flags",       "hop_limit", "traffic_class", "ip6_src"};
    return fields;
}

namespace {

enum class flow_kind : std::uint8_t { arp, icmp, udp, tcp, other, ndp, mld };

std::string_view kind_name(flow_kind k) {
    switch (k) {
    case flow_kind::arp: return "arp";
    case flow_kind::icmp: return "icmp";
    case flow_kind::udp: return "udp";
    case flow_kind::tcp: return "tcp";
    case flow_kind::other: return "other";
    case flow_kind::ndp: return "ndp";
    case flow_kind::mld: return "mld";
    }
    return "other";
}

constexpr std::size_t eth_size = 14;

/// The fields of one frame the engine looks at, with bounds checked once. No checksums are
/// verified here: captures taken on the sending side carry partial (offloaded) checksums.
struct parsed_frame {
    flow_kind kind = flow_kind::other;
    link::mac_address src_mac, dst_mac;
    std::uint16_t ethertype = 0;
    bool ipv4 = false;
    bool ipv6 = false;
    std::uint32_t src_ip = 0, dst_ip = 0;  // IPv4 only
    ip::address src, dst;  // either family
    std::uint8_t ttl = 0, dscp = 0;  // IPv6: hop limit, traffic class
    bool df = false;
    std::size_t ip_off = 0, l4_off = 0, l4_len = 0;
    std::uint16_t sport = 0, dport = 0;
    std::size_t tcp_hdr_len = 0;
    std::uint16_t arp_op = 0;
    std::uint32_t arp_sip = 0, arp_tip = 0;
    link::mac_address arp_sha, arp_tha;
};

link::mac_address mac_at(bytes b, std::size_t off) {
    link::mac_address m;
    for (std::size_t i = 0; i < 6; ++i) m.bytes[i] = load_u8(b, off + i);
    return m;
}

void parse_l4(bytes f, parsed_frame& p, std::uint8_t proto);
parsed_frame parse_ipv6(bytes f, parsed_frame& p);

parsed_frame parse_frame(bytes f) {
    parsed_frame p;
    if (f.size() < eth_size) return p;
    p.dst_mac = mac_at(f, 0);
    p.src_mac = mac_at(f, 6);
    p.ethertype = load_be16(f, 12);
    if (p.ethertype == 0x0806) {
        if (f.size() < eth_size + 28 || load_be16(f, 14) != 1 || load_be16(f, 16) != 0x0800 || load_u8(f, 18) != 6 ||
            load_u8(f, 19) != 4)
            return p;
        p.kind = flow_kind::arp;
        p.arp_op = load_be16(f, 20);
        p.arp_sha = mac_at(f, 22);
        p.arp_sip = load_be32(f, 28);
        p.arp_tha = mac_at(f, 32);
        p.arp_tip = load_be32(f, 38);
        return p;
    }
    if (p.ethertype == 0x86dd) return parse_ipv6(f, p);
    if (p.ethertype != 0x0800 || f.size() < eth_size + 20) return p;
    const std::size_t ihl = (load_u8(f, 14) & 0x0fu) * 4u;
    const std::size_t total = load_be16(f, 16);
    if ((load_u8(f, 14) >> 4) != 4 || ihl < 20 || total < ihl || eth_size + total > f.size()) return p;
    p.ipv4 = true;
    p.ip_off = eth_size;
    p.dscp = load_u8(f, 15);
    p.df = (load_u8(f, 20) & 0x40) != 0;
    p.ttl = load_u8(f, 22);
    p.src_ip = load_be32(f, 26);
    p.dst_ip = load_be32(f, 30);
    p.src = ip::address_v4{p.src_ip};
    p.dst = ip::address_v4{p.dst_ip};
    p.l4_off = eth_size + ihl;
    p.l4_len = total - ihl;
    const bool fragment = (load_be16(f, 20) & 0x3fffu) != 0;
    if (fragment) return p;  // kind other: never reassembled, compared as a whole
    parse_l4(f, p, load_u8(f, 23));
    return p;
}

/// The transport header after the IP header(s): ICMP, ICMPv6 (echo and errors as "icmp",
/// RFC 4861 NDP as "ndp", RFC 3810 MLD as "mld"), UDP, TCP.
void parse_l4(bytes f, parsed_frame& p, std::uint8_t proto) {
    switch (proto) {
    case 1:
        if (p.l4_len >= 8 && p.ipv4) p.kind = flow_kind::icmp;
        break;
    case 58:
        if (p.l4_len >= 8 && p.ipv6) {
            const std::uint8_t type = load_u8(f, p.l4_off);
            if (type >= 133 && type <= 137)
                p.kind = flow_kind::ndp;
            else if ((type >= 130 && type <= 132) || type == 143)
                p.kind = flow_kind::mld;
            else
                p.kind = flow_kind::icmp;
        }
        break;
    case 17:
        if (p.l4_len >= 8) {
            p.kind = flow_kind::udp;
            p.sport = load_be16(f, p.l4_off);
            p.dport = load_be16(f, p.l4_off + 2);
        }
        break;
    case 6:
        if (p.l4_len >= 20) {
            const std::size_t doff = (load_u8(f, p.l4_off + 12) >> 4) * 4u;
            if (doff >= 20 && doff <= p.l4_len) {
                p.kind = flow_kind::tcp;
                p.sport = load_be16(f, p.l4_off);
                p.dport = load_be16(f, p.l4_off + 2);
                p.tcp_hdr_len = doff;
            }
        }
        break;
    default: break;
    }
}

/// IPv6 (RFC 8200 §3): hop-by-hop, routing and destination options headers are skipped by
/// their length (§4.3-4.6); a fragment (§4.5) is never reassembled: kind other, compared whole.
/// The flow label is never compared (Linux hashes one per flow, RFC 6437; tapstack sends 0).
parsed_frame parse_ipv6(bytes f, parsed_frame& p) {
    if (f.size() < eth_size + 40 || (load_u8(f, 14) >> 4) != 6) return p;
    const std::size_t end = eth_size + 40 + load_be16(f, 18);
    if (end > f.size()) return p;
    p.ipv6 = true;
    p.ip_off = eth_size;
    p.dscp = static_cast<std::uint8_t>((load_be16(f, 14) >> 4) & 0xffu);
    p.ttl = load_u8(f, 21);
    ip::address_v6::bytes_type a{}, b{};
    for (std::size_t i = 0; i < 16; ++i) {
        a[i] = load_u8(f, 22 + i);
        b[i] = load_u8(f, 38 + i);
    }
    p.src = ip::address_v6{a};
    p.dst = ip::address_v6{b};
    std::uint8_t next = load_u8(f, 20);
    std::size_t off = eth_size + 40;
    while (next == 0 || next == 43 || next == 60) {
        if (off + 8 > end) return p;
        const std::size_t len = (load_u8(f, off + 1) + 1u) * 8u;
        if (off + len > end) return p;
        next = load_u8(f, off);
        off += len;
    }
    p.l4_off = off;
    p.l4_len = end - off;
    if (next == 44) return p;
    parse_l4(f, p, next);
    return p;
}

std::uint64_t fnv1a(bytes b) {
    std::uint64_t h = 14695981039346656037ull;
    for (auto c : b) {
        h ^= static_cast<std::uint8_t>(c);
        h *= 1099511628211ull;
    }
    return h;
}

/// A flow seen from the host: (kind, peer address, host port, peer port).
struct flow_key {
    flow_kind kind = flow_kind::other;
    ip::address peer_ip;  // IPv4 mapped or IPv6
    std::uint16_t host_port = 0;
    std::uint16_t peer_port = 0;
    friend auto operator<=>(const flow_key&, const flow_key&) = default;
};

/// What the comparison knows of one frame: normalised values only, so a million frames fit.
struct frame_summary {
    std::int64_t index = 0;  // record number (recorded) or emission number (replayed)
    std::int64_t t_us = 0;
    flow_kind kind = flow_kind::other;
    link::mac_address eth_dst;
    bool ipv4 = false;
    bool ipv6 = false;
    std::uint8_t ttl = 0, dscp = 0;  // IPv6: hop limit, traffic class
    bool df = false;
    ip::address ip6_src;  // IPv6: the host's source address (global or link-local)
    ip::address nd_target;  // NDP NS/NA/redirect: the target address
    std::uint8_t nd_flags = 0;  // NDP NA: R, S, O (RFC 4861 §4.4), top bits
    std::uint8_t flags = 0;  // TCP flags, ICMP type, ARP operation
    std::uint8_t code = 0;  // ICMP code
    std::uint32_t seq = 0;  // TCP: relative to our ISN; ICMP: identifier; ARP: sender IP
    std::uint32_t ack = 0;  // TCP: relative to the peer's ISN; ICMP: sequence; ARP: target IP
    std::uint16_t window = 0;
    std::uint64_t option_layout = 0;  // option kinds in order (NOP/EOL left out), 8 bits each
    std::uint16_t mss = 0;
    std::uint8_t wscale = 0xff;
    bool sack_permitted = false;
    bool has_ts = false;
    std::uint32_t tsval = 0;  // relative to the connection's first TSval
    std::uint32_t tsecr = 0;  // the peer's TSval: the same in both spaces
    std::uint8_t sack_count = 0;
    std::uint32_t sack_left = 0, sack_right = 0;  // first block, relative to the peer's ISN
    std::uint16_t sport = 0, dport = 0;
    link::mac_address arp_sha, arp_tha;
    std::uint32_t payload_length = 0;
    std::uint64_t payload_hash = 0;
};

/// One side's view of a TCP connection's sequence space.
struct tcp_space {
    std::optional<std::uint32_t> isn;
    std::optional<std::uint32_t> ts0;
};

struct flow_state {
    flow_key key;
    tcp_space recorded, replayed;
    std::optional<std::uint32_t> peer_isn;
    std::vector<frame_summary> recorded_frames, replayed_frames;
};

class flow_table {
public:
    flow_state& get(const flow_key& k) {
        auto [it, inserted] = index_.try_emplace(k, flows_.size());
        if (inserted) {
            flows_.push_back(std::make_unique<flow_state>());
            flows_.back()->key = k;
        }
        return *flows_[it->second];
    }
    flow_state* find(const flow_key& k) {
        auto it = index_.find(k);
        return it == index_.end() ? nullptr : flows_[it->second].get();
    }
    std::vector<std::unique_ptr<flow_state>>& all() { return flows_; }

private:
    std::map<flow_key, std::size_t> index_;
    std::vector<std::unique_ptr<flow_state>> flows_;
};

/// The key of a frame the host sent (`from_host`) or received.
flow_key key_of(const parsed_frame& p, bool from_host) {
    flow_key k{p.kind, ip::address{}, 0, 0};
    switch (p.kind) {
    case flow_kind::arp: k.peer_ip = ip::address_v4{from_host ? p.arp_tip : p.arp_sip}; break;
    case flow_kind::icmp:
    case flow_kind::ndp:
    case flow_kind::mld: k.peer_ip = from_host ? p.dst : p.src; break;
    case flow_kind::udp:
    case flow_kind::tcp:
        k.peer_ip = from_host ? p.dst : p.src;
        k.host_port = from_host ? p.sport : p.dport;
        k.peer_port = from_host ? p.dport : p.sport;
        break;
    case flow_kind::other:
        if (p.ipv4 || p.ipv6) k.peer_ip = from_host ? p.dst : p.src;
        break;
    }
    return k;
}

struct tcp_option_positions {
    std::size_t ts = 0;  // offset of the TS option's kind byte, 0: none
    std::size_t sack = 0;
    std::size_t sack_blocks = 0;
};

/// Walks TCP options (RFC 9293 §3.1): kind, then a length byte >= 2 that must fit; unknown
/// kinds are skipped by their declared length. Fills `s` (if given) and the positions.
tcp_option_positions walk_options(bytes f, std::size_t opt_off, std::size_t opt_len, frame_summary* s) {
    tcp_option_positions pos;
    std::size_t i = 0;
    unsigned n = 0;
    while (i < opt_len) {
        const std::uint8_t kind = load_u8(f, opt_off + i);
        if (kind == 0) break;
        if (kind == 1) {
            ++i;
            continue;
        }
        if (i + 1 >= opt_len) break;
        const std::uint8_t len = load_u8(f, opt_off + i + 1);
        if (len < 2 || i + len > opt_len) break;
        if (s != nullptr && n < 8) s->option_layout |= std::uint64_t{kind} << (8 * n++);
        const std::size_t at = opt_off + i;
        if (kind == 2 && len == 4 && s != nullptr) s->mss = load_be16(f, at + 2);
        if (kind == 3 && len == 3 && s != nullptr) s->wscale = load_u8(f, at + 2);
        if (kind == 4 && s != nullptr) s->sack_permitted = true;
        if (kind == 5 && len >= 10) {
            pos.sack = at;
            pos.sack_blocks = (len - 2u) / 8u;
        }
        if (kind == 8 && len == 10) pos.ts = at;
        i += len;
    }
    return pos;
}

frame_summary summarize(bytes f, const parsed_frame& p, std::int64_t index, std::int64_t t_us, flow_state& flow,
                        tcp_space& space) {
    frame_summary s;
    s.index = index;
    s.t_us = t_us;
    s.kind = p.kind;
    s.eth_dst = p.dst_mac;
    s.ipv4 = p.ipv4;
    s.ipv6 = p.ipv6;
    if (p.ipv6) s.ip6_src = p.src;
    s.ttl = p.ttl;
    s.dscp = p.dscp;
    s.df = p.df;
    switch (p.kind) {
    case flow_kind::arp:
        s.flags = static_cast<std::uint8_t>(p.arp_op);
        s.seq = p.arp_sip;
        s.ack = p.arp_tip;
        s.arp_sha = p.arp_sha;
        s.arp_tha = p.arp_tha;
        break;
    case flow_kind::icmp: {
        s.flags = load_u8(f, p.l4_off);
        s.code = load_u8(f, p.l4_off + 1);
        s.seq = load_be16(f, p.l4_off + 4);
        s.ack = load_be16(f, p.l4_off + 6);
        const bytes body = f.subspan(p.l4_off + 8, p.l4_len - 8);
        s.payload_length = static_cast<std::uint32_t>(body.size());
        s.payload_hash = fnv1a(body);
        break;
    }
    case flow_kind::ndp:
    case flow_kind::mld: {
        s.flags = load_u8(f, p.l4_off);
        s.code = load_u8(f, p.l4_off + 1);
        const bool has_target = p.kind == flow_kind::ndp && s.flags >= 135 && p.l4_len >= 24;
        if (has_target) {
            ip::address_v6::bytes_type t{};
            for (std::size_t i = 0; i < 16; ++i) t[i] = load_u8(f, p.l4_off + 8 + i);
            s.nd_target = ip::address_v6{t};
        }
        if (p.kind == flow_kind::ndp && s.flags == 136)
            s.nd_flags = static_cast<std::uint8_t>(load_u8(f, p.l4_off + 4) & 0xe0u);
        // The options (link-layer addresses) after the fixed part are the payload.
        const std::size_t fixed = has_target ? 24 : 8;
        const bytes body = f.subspan(p.l4_off + fixed, p.l4_len - fixed);
        s.payload_length = static_cast<std::uint32_t>(body.size());
        s.payload_hash = fnv1a(body);
        break;
    }
    case flow_kind::udp: {
        s.sport = p.sport;
        s.dport = p.dport;
        const bytes body = f.subspan(p.l4_off + 8, p.l4_len - 8);
        s.payload_length = static_cast<std::uint32_t>(body.size());
        s.payload_hash = fnv1a(body);
        break;
    }
    case flow_kind::tcp: {
        const std::size_t o = p.l4_off;
        s.flags = load_u8(f, o + 13);
        const bool syn = (s.flags & 0x02) != 0;
        const std::uint32_t seq = load_be32(f, o + 4);
        if (syn) space.isn = seq;  // a new connection (or a retransmitted SYN)
        s.seq = seq - space.isn.value_or(0);
        const std::uint32_t peer0 = flow.peer_isn.value_or(0);
        s.ack = (s.flags & 0x10) != 0 ? load_be32(f, o + 8) - peer0 : 0;
        s.window = load_be16(f, o + 14);
        const auto pos = walk_options(f, o + 20, p.tcp_hdr_len - 20, &s);
        if (pos.ts != 0) {
            s.has_ts = true;
            const std::uint32_t tsval = load_be32(f, pos.ts + 2);
            if (syn || !space.ts0) space.ts0 = tsval;
            s.tsval = tsval - *space.ts0;
            s.tsecr = load_be32(f, pos.ts + 6);
        }
        if (pos.sack != 0) {
            s.sack_count = static_cast<std::uint8_t>(pos.sack_blocks);
            s.sack_left = load_be32(f, pos.sack + 2) - peer0;
            s.sack_right = load_be32(f, pos.sack + 6) - peer0;
        }
        const bytes body = f.subspan(o + p.tcp_hdr_len, p.l4_len - p.tcp_hdr_len);
        s.payload_length = static_cast<std::uint32_t>(body.size());
        s.payload_hash = fnv1a(body);
        break;
    }
    case flow_kind::other:
        s.payload_length = static_cast<std::uint32_t>(f.size());
        s.payload_hash = fnv1a(f);
        break;
    }
    return s;
}

std::string tcp_flags_text(std::uint8_t b) {
    std::string s;
    if (b & 0x02) s += 'S';
    if (b & 0x01) s += 'F';
    if (b & 0x04) s += 'R';
    if (b & 0x08) s += 'P';
    if (b & 0x20) s += 'U';
    if (b & 0x40) s += 'E';
    if (b & 0x80) s += 'W';
    if (b & 0x10) s += '.';
    return "[" + s + "]";
}

std::string ip_text(std::uint32_t a) { return ip::address_v4{a}.to_string(); }

std::string options_text(const frame_summary& s) {
    std::string out;
    for (unsigned i = 0; i < 8; ++i) {
        const auto kind = static_cast<std::uint8_t>(s.option_layout >> (8 * i));
        if (kind == 0) break;
        if (!out.empty()) out += ',';
        switch (kind) {
        case 2: out += "mss " + std::to_string(s.mss); break;
        case 3: out += "wscale " + std::to_string(s.wscale); break;
        case 4: out += "sackOK"; break;
        case 5: out += "sack"; break;
        case 8: out += "TS"; break;
        default: out += "kind " + std::to_string(kind); break;
        }
    }
    return out.empty() ? "none" : out;
}

std::string describe(const frame_summary& s) {
    std::ostringstream o;
    o << "#" << s.index << " t=" << s.t_us << "us ";
    switch (s.kind) {
    case flow_kind::tcp:
        o << tcp_flags_text(s.flags) << " seq " << s.seq << " ack " << s.ack << " win " << s.window << " options ["
          << options_text(s) << "] len " << s.payload_length;
        break;
    case flow_kind::udp: o << "udp " << s.sport << " > " << s.dport << " len " << s.payload_length; break;
    case flow_kind::icmp:
        o << "icmp type " << int{s.flags} << " code " << int{s.code} << " id " << s.seq << " seq " << s.ack << " len "
          << s.payload_length;
        break;
    case flow_kind::arp:
        o << "arp "
          << (s.flags == 1       ? "request"
                  : s.flags == 2 ? "reply"
                                 : "op " + std::to_string(s.flags))
          << " who-has " << ip_text(s.ack) << " tell " << ip_text(s.seq);
        break;
    case flow_kind::other: o << "frame of " << s.payload_length << " bytes"; break;
    case flow_kind::ndp:
    case flow_kind::mld:
        o << kind_name(s.kind) << " type " << int{s.flags} << " code " << int{s.code};
        if (!s.nd_target.is_unspecified()) o << " target " << s.nd_target.to_string();
        o << " options/body " << s.payload_length;
        break;
    }
    if (s.ipv6) o << " from " << s.ip6_src.to_string();
    return o.str();
}

struct field_difference {
    std::string_view field;
    std::string recorded, replayed;
};

/// The first field (in replay_fields() order) in which the frames differ, ignoring the
/// tolerated ones; nullopt when they are equivalent.
std::optional<field_difference> first_difference(const frame_summary& a, const frame_summary& b,
                                                 const replay_tolerance& tol) {
    std::optional<field_difference> d;
    auto check = [&](std::string_view name, const auto& x, const auto& y, auto&& text) {
        if (d || tol.ignored_fields.contains(name) || x == y) return;
        d = field_difference{name, text(a), text(b)};
    };
    auto num = [](auto v) { return std::to_string(v); };
    if (a.kind != b.kind)
        return field_difference{"kind", std::string{kind_name(a.kind)}, std::string{kind_name(b.kind)}};
    switch (a.kind) {
    case flow_kind::tcp:
        check("flags", a.flags, b.flags, [](const frame_summary& s) { return tcp_flags_text(s.flags); });
        check("seq", a.seq, b.seq, [&](const frame_summary& s) { return num(s.seq); });
        check("ack", a.ack, b.ack, [&](const frame_summary& s) { return num(s.ack); });
        check("window", a.window, b.window, [&](const frame_summary& s) { return num(s.window); });
        check("options", std::tie(a.option_layout, a.mss, a.sack_permitted),
              std::tie(b.option_layout, b.mss, b.sack_permitted), options_text);
        check("wscale", a.wscale, b.wscale,
              [&](const frame_summary& s) { return s.wscale == 0xff ? std::string{"none"} : num(int{s.wscale}); });
        if (a.has_ts && b.has_ts) {
            // Both clocks tick in milliseconds but truncate at different phases: one tick apart
            // is the same time.
            const auto dt = static_cast<std::int32_t>(a.tsval - b.tsval);
            const bool same = dt >= -1 && dt <= 1;
            check("tsval", same, true, [&](const frame_summary& s) { return "+" + num(s.tsval); });
            check("tsecr", a.tsecr, b.tsecr, [&](const frame_summary& s) { return num(s.tsecr); });
        }
        check("sack", std::tie(a.sack_count, a.sack_left, a.sack_right),
              std::tie(b.sack_count, b.sack_left, b.sack_right), [&](const frame_summary& s) {
                  return s.sack_count == 0
                      ? std::string{"none"}
                      : num(s.sack_count) + " blocks, first " + num(s.sack_left) + "-" + num(s.sack_right);
              });
        break;
    case flow_kind::icmp:
        check("icmp_type", a.flags, b.flags, [&](const frame_summary& s) { return num(int{s.flags}); });
        check("icmp_code", a.code, b.code, [&](const frame_summary& s) { return num(int{s.code}); });
        check("icmp_id", a.seq, b.seq, [&](const frame_summary& s) { return num(s.seq); });
        check("icmp_seq", a.ack, b.ack, [&](const frame_summary& s) { return num(s.ack); });
        break;
    case flow_kind::udp:
        check("udp_ports", std::tie(a.sport, a.dport), std::tie(b.sport, b.dport),
              [&](const frame_summary& s) { return num(s.sport) + " > " + num(s.dport); });
        break;
    case flow_kind::arp:
        check("arp_op", a.flags, b.flags, [&](const frame_summary& s) { return num(int{s.flags}); });
        check("arp_sender", std::tie(a.seq, a.arp_sha), std::tie(b.seq, b.arp_sha),
              [](const frame_summary& s) { return ip_text(s.seq) + " at " + s.arp_sha.to_string(); });
        // RFC 826 leaves the target hardware address of a request unspecified (Linux sends
        // zeros or the cached address): only a reply's is compared.
        check("arp_target", std::tie(a.ack, a.flags == 2 ? a.arp_tha : link::mac_address{}),
              std::tie(b.ack, b.flags == 2 ? b.arp_tha : link::mac_address{}),
              [](const frame_summary& s) { return ip_text(s.ack) + " at " + s.arp_tha.to_string(); });
        break;
    case flow_kind::ndp:
    case flow_kind::mld:
        check("icmp_type", a.flags, b.flags, [&](const frame_summary& s) { return num(int{s.flags}); });
        check("icmp_code", a.code, b.code, [&](const frame_summary& s) { return num(int{s.code}); });
        check("nd_target", a.nd_target, b.nd_target, [](const frame_summary& s) { return s.nd_target.to_string(); });
        check("nd_flags", a.nd_flags, b.nd_flags, [](const frame_summary& s) {
            std::string t;
            if (s.nd_flags & 0x80) t += 'R';
            if (s.nd_flags & 0x40) t += 'S';
            if (s.nd_flags & 0x20) t += 'O';
            return t.empty() ? std::string{"none"} : t;
        });
        break;
    case flow_kind::other: break;
    }
    if (a.kind != flow_kind::arp) {
        check("payload_length", a.payload_length, b.payload_length,
              [&](const frame_summary& s) { return num(s.payload_length); });
        check("payload", a.payload_hash, b.payload_hash, [&](const frame_summary& s) {
            char buf[24];
            std::snprintf(buf, sizeof buf, "fnv1a %016llx", static_cast<unsigned long long>(s.payload_hash));
            return std::string{buf};
        });
    }
    if (a.ipv4 || b.ipv4) {
        check("ttl", std::tie(a.ipv4, a.ttl), std::tie(b.ipv4, b.ttl),
              [&](const frame_summary& s) { return num(int{s.ttl}); });
        check("df", a.df, b.df, [&](const frame_summary& s) { return std::string{s.df ? "DF" : "no DF"}; });
        check("dscp", a.dscp, b.dscp, [&](const frame_summary& s) { return num(int{s.dscp}); });
    }
    if (a.ipv6 || b.ipv6) {
        check("hop_limit", std::tie(a.ipv6, a.ttl), std::tie(b.ipv6, b.ttl),
              [&](const frame_summary& s) { return num(int{s.ttl}); });
        check("traffic_class", a.dscp, b.dscp, [&](const frame_summary& s) { return num(int{s.dscp}); });
        check("ip6_src", a.ip6_src, b.ip6_src, [](const frame_summary& s) { return s.ip6_src.to_string(); });
    }
    check("eth_dst", a.eth_dst, b.eth_dst, [](const frame_summary& s) { return s.eth_dst.to_string(); });
    return d;
}

/// The frame's role in its flow, whatever its details: two frames of the same shape are the
/// same frame (matched, or differing in some field); a frame whose shape the other side does
/// not have nearby is missing or extra.
auto shape(const frame_summary& s) {
    switch (s.kind) {
    case flow_kind::tcp: return std::tuple{s.flags, s.seq, s.payload_length};
    case flow_kind::icmp: return std::tuple{s.flags, s.ack, std::uint32_t{0}};
    case flow_kind::arp: return std::tuple{s.flags, s.ack, std::uint32_t{0}};
    case flow_kind::ndp:
    case flow_kind::mld: return std::tuple{s.flags, std::uint32_t{0}, std::uint32_t{0}};
    case flow_kind::udp:
    case flow_kind::other: break;
    }
    return std::tuple{std::uint8_t{0}, std::uint32_t{0}, s.payload_length};
}

bool is_pure_ack(const frame_summary& s) {
    return s.kind == flow_kind::tcp && s.flags == 0x10 && s.payload_length == 0;
}

/// Aligns a flow's recorded and replayed frames in order: equivalent frames match, frames of
/// the same shape differ (in the first field named); a head frame whose shape appears a few
/// positions ahead on the other side makes the frames skipped over missing (or extra).
replay_flow_report compare_flow(const flow_state& f, const replay_tolerance& tol, std::size_t max_details) {
    constexpr std::size_t window = 16;
    replay_flow_report r;
    r.kind = std::string{kind_name(f.key.kind)};
    r.recorded = f.recorded_frames.size();
    r.replayed = f.replayed_frames.size();
    const bool unmatched_ok = tol.unmatched_ok.contains(r.kind);
    const bool pure_acks_ok = tol.unmatched_ok.contains("tcp_pure_ack");
    const auto& rec = f.recorded_frames;
    const auto& rep = f.replayed_frames;
    auto note = [&](replay_difference d) {
        if (r.details.size() < max_details) r.details.push_back(std::move(d));
    };
    auto missing = [&](std::size_t i) {
        if (unmatched_ok || (pure_acks_ok && is_pure_ack(rec[i]))) {
            ++r.tolerated_unmatched;
            return;
        }
        ++r.missing;
        note({replay_difference::kind::missing, rec[i].index, -1, "", describe(rec[i]), ""});
    };
    auto extra = [&](std::size_t j) {
        if (unmatched_ok || (pure_acks_ok && is_pure_ack(rep[j]))) {
            ++r.tolerated_unmatched;
            return;
        }
        ++r.extra;
        note({replay_difference::kind::extra, -1, rep[j].index, "", "", describe(rep[j])});
    };
    std::size_t i = 0, j = 0;
    while (i < rec.size() && j < rep.size()) {
        if (!first_difference(rec[i], rep[j], tol)) {
            ++r.matched, ++i, ++j;
            continue;
        }
        auto differ = [&] {
            auto d = first_difference(rec[i], rep[j], tol);
            ++r.differing;
            note({replay_difference::kind::differing, rec[i].index, rep[j].index, std::string{d->field},
                  d->recorded + " in " + describe(rec[i]), d->replayed + " in " + describe(rep[j])});
            ++i, ++j;
        };
        if (shape(rec[i]) == shape(rep[j])) {
            differ();
            continue;
        }
        std::optional<std::size_t> ahead_rep, ahead_rec;
        for (std::size_t k = j + 1; k < std::min(rep.size(), j + window); ++k)
            if (shape(rec[i]) == shape(rep[k])) {
                ahead_rep = k;
                break;
            }
        for (std::size_t k = i + 1; k < std::min(rec.size(), i + window); ++k)
            if (shape(rec[k]) == shape(rep[j])) {
                ahead_rec = k;
                break;
            }
        if (ahead_rep && (!ahead_rec || *ahead_rep - j <= *ahead_rec - i)) {
            while (j < *ahead_rep) extra(j++);
        } else if (ahead_rec) {
            while (i < *ahead_rec) missing(i++);
        } else {
            differ();
        }
    }
    while (i < rec.size()) missing(i++);
    while (j < rep.size()) extra(j++);
    return r;
}

std::string flow_name(const flow_key& k, ip::address_v4 host, const std::optional<ip::address_v6>& host6) {
    std::string n{kind_name(k.kind)};
    n += ' ';
    const std::string h = k.peer_ip.is_v6() && host6 ? "[" + host6->to_string() + "]" : host.to_string();
    const std::string peer =
        k.peer_ip.is_v6() ? "[" + k.peer_ip.to_string() + "]" : ip_text(k.peer_ip.to_v4().to_uint());
    if (k.kind == flow_kind::tcp || k.kind == flow_kind::udp)
        return n + h + ":" + std::to_string(k.host_port) + " <-> " + peer + ":" + std::to_string(k.peer_port);
    return n + h + " <-> " + peer;
}

// --- the replayed stack's output ------------------------------------------------------------

class replay_sink final : public link::frame_sink {
public:
    replay_sink(flow_table& flows, pcap_writer* out) : flows_{&flows}, out_{out} {}
    void send_frame(bytes frame, instant now) override {
        if (muted_) return;  // the answer to a neighbor-cache primer the engine made up
        if (out_ != nullptr) out_->write(frame, now);
        const auto p = parse_frame(frame);
        auto& flow = flows_->get(key_of(p, true));
        flow.replayed_frames.push_back(summarize(frame, p, emitted_, to_us(now), flow, flow.replayed));
        ++emitted_;
    }
    std::uint64_t emitted() const noexcept { return emitted_; }
    void mute(bool on) noexcept { muted_ = on; }

private:
    bool muted_ = false;
    flow_table* flows_;
    pcap_writer* out_;
    std::uint64_t emitted_ = 0;
};

// --- input ------------------------------------------------------------------------------------

std::unique_ptr<pcap_reader> open_capture(const std::string& path) {
    try {
        return std::make_unique<pcap_reader>(path);
    } catch (const pcap_error& e) { throw replay_error{e.what()}; }
}

std::optional<pcap_record> next_record(pcap_reader& r) {
    std::optional<pcap_record> rec;
    try {
        rec = r.next();
    } catch (const pcap_error& e) { throw replay_error{std::string{e.what()} + " (truncated or corrupt capture)"}; }
    if (!rec) return rec;
    if (rec->frame.size() < eth_size)
        throw replay_error{"replay: " + r.path() + ": record " + std::to_string(rec->index) + " is " +
                           std::to_string(rec->frame.size()) + " bytes, shorter than an Ethernet header (14)"};
    if (rec->original_length > rec->frame.size())
        throw replay_error{"replay: " + r.path() + ": record " + std::to_string(rec->index) + " was cut to " +
                           std::to_string(rec->frame.size()) + " of " + std::to_string(rec->original_length) +
                           " bytes by the snaplen (record with -s 0)"};
    return rec;
}

struct first_pass {
    std::optional<link::mac_address> host_mac;
    bool mentioned = false;
    std::set<std::uint16_t> tcp_ports;  // the host answered a SYN from these (SYN-ACK)
    std::set<std::uint16_t> udp_ports;  // the host sent datagrams from these
    std::uint64_t frames = 0;
    std::chrono::nanoseconds first{0}, last{0};
};

first_pass scan(const std::string& path, ip::address_v4 host, const std::optional<ip::address_v6>& host6,
                const std::optional<link::mac_address>& given_mac) {
    first_pass fp;
    auto reader = open_capture(path);
    const std::uint32_t h = host.to_uint();
    auto is_host = [&](const parsed_frame& p, bool src) {
        if (p.ipv4) return (src ? p.src_ip : p.dst_ip) == h;
        return p.ipv6 && host6 && (src ? p.src : p.dst) == ip::address{*host6};
    };
    std::optional<link::mac_address> learned_src, learned_dst;
    while (auto rec = next_record(*reader)) {
        if (fp.frames == 0) fp.first = rec->timestamp;
        fp.last = rec->timestamp;
        ++fp.frames;
        const auto p = parse_frame(rec->frame);
        const bool from = is_host(p, true) || (p.kind == flow_kind::arp && p.arp_sip == h);
        const bool to = is_host(p, false) || (p.kind == flow_kind::arp && p.arp_tip == h);
        fp.mentioned = fp.mentioned || from || to;
        if (from && !learned_src) learned_src = p.src_mac;
        if (is_host(p, false) && !p.dst_mac.is_multicast() && !learned_dst) learned_dst = p.dst_mac;
        const link::mac_address mac = given_mac ? *given_mac : learned_src.value_or(link::mac_address{});
        if ((given_mac || learned_src) && p.src_mac == mac && is_host(p, true)) {
            if (p.kind == flow_kind::tcp && (load_u8(rec->frame, p.l4_off + 13) & 0x12) == 0x12)
                fp.tcp_ports.insert(p.sport);
            if (p.kind == flow_kind::udp) fp.udp_ports.insert(p.sport);
        }
    }
    if (fp.frames == 0) throw replay_error{"replay: " + path + ": the capture holds no frames"};
    if (!fp.mentioned)
        throw replay_error{"replay: " + path + ": the capture never mentions the host " +
                           (host6 ? host6->to_string() : host.to_string()) + " (wrong --host-ip?)"};
    fp.host_mac = given_mac ? given_mac : learned_src ? learned_src : learned_dst;
    if (!fp.host_mac)
        throw replay_error{"replay: " + path +
                           ": cannot tell the host's MAC address from the capture (give --host-mac)"};
    return fp;
}

/// Rewrites a TCP segment the peer sent from the recorded host's sequence space into the
/// stack's: ACK, SACK blocks (RFC 2018) and TSecr (RFC 7323 §3) move by the difference of the
/// two sides' ISNs and first TSvals; then the checksum is recomputed over the pseudo-header.
void translate_tcp(mutable_bytes f, const parsed_frame& p, const flow_state& flow) {
    const std::size_t o = p.l4_off;
    const auto mf = bytes{f};
    if (flow.recorded.isn && flow.replayed.isn) {
        const std::uint32_t d = *flow.replayed.isn - *flow.recorded.isn;
        if ((load_u8(mf, o + 13) & 0x10) != 0) store_be32(f, o + 8, load_be32(mf, o + 8) + d);
        const auto pos = walk_options(mf, o + 20, p.tcp_hdr_len - 20, nullptr);
        for (std::size_t b = 0; pos.sack != 0 && b < pos.sack_blocks; ++b) {
            const std::size_t at = pos.sack + 2 + 8 * b;
            store_be32(f, at, load_be32(mf, at) + d);
            store_be32(f, at + 4, load_be32(mf, at + 4) + d);
        }
    }
    if (flow.recorded.ts0 && flow.replayed.ts0) {
        const auto pos = walk_options(mf, o + 20, p.tcp_hdr_len - 20, nullptr);
        if (pos.ts != 0 && load_be32(mf, pos.ts + 6) != 0)
            store_be32(f, pos.ts + 6, load_be32(mf, pos.ts + 6) + (*flow.replayed.ts0 - *flow.recorded.ts0));
    }
}

/// Recomputes a TCP or UDP checksum (the capture may hold partial ones from checksum offload).
void fix_l4_checksum(mutable_bytes f, const parsed_frame& p) {
    const std::size_t at = p.kind == flow_kind::tcp ? p.l4_off + 16 : p.l4_off + 6;
    if (p.kind == flow_kind::udp && load_be16(bytes{f}, at) == 0) return;  // RFC 768: no checksum
    store_be16(f, at, 0);
    wire::checksum_accumulator acc;
    wire::add_pseudo_header(acc, p.src, p.dst, p.kind == flow_kind::tcp ? std::uint8_t{6} : std::uint8_t{17},
                            static_cast<std::uint32_t>(p.l4_len));
    acc.add(bytes{f}.subspan(p.l4_off, p.l4_len));
    std::uint16_t c = acc.finish();
    if (p.kind == flow_kind::udp && c == 0) c = 0xffff;
    store_be16(f, at, c);
}

}  // namespace

std::string_view http_hello_response() noexcept {
    return "HTTP/1.0 200 OK\r\n"
           "Content-Type: text/plain\r\n"
           "Content-Length: 18\r\n"
           "Connection: close\r\n"
           "\r\n"
           "hello from replay\n";
}

replay_report replay_capture(const std::string& pcap_path, const replay_options& opts) {
    for (const auto& f : opts.tolerance.ignored_fields)
        if (std::find(replay_fields().begin(), replay_fields().end(), f) == replay_fields().end())
            throw replay_error{"replay: unknown field '" + f + "' in the tolerance"};

    const first_pass fp = scan(pcap_path, opts.host_ip, opts.host_ip6, opts.host_mac);
    const link::mac_address host_mac = *fp.host_mac;
    const std::uint32_t h = opts.host_ip.to_uint();

    stack_config cfg;
    cfg.mac = host_mac;
    cfg.ipv4 = ip::interface_address{opts.host_ip, opts.prefix_length};
    cfg.seed = opts.seed;
    cfg.deterministic = opts.deterministic;
    // The virtual clock's origin: t=0 at the first record, or (deterministic) the recording
    // stack's own t=0, which its pcap writes as the Unix epoch.
    const std::chrono::nanoseconds origin = opts.deterministic ? std::chrono::nanoseconds{0} : fp.first;
    if (opts.deterministic && fp.first > std::chrono::hours{24})
        throw replay_error{"replay: " + pcap_path +
                           ": --deterministic needs a capture stamped with the stack's own clock "
                           "(echo-server --pcap FILE --seed N --deterministic); this one starts at Unix time " +
                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(fp.first).count()) + " s"};
    if (opts.host_ip6) {
        cfg.ipv6 = ip::interface_address_v6{*opts.host_ip6, opts.prefix_length6};
        // The recorded host's addresses were valid before the capture began: no DAD (RFC 4862
        // §5.4) and no router solicitation at start-up, neither of which the capture can show.
        cfg.dad_transmits = 0;
        cfg.ipv6_send_router_solicitation = false;
    }
    if (auto err = cfg.validate()) throw replay_error{"replay: bad stack configuration: " + *err};

    std::unique_ptr<pcap_writer> out;
    if (!opts.out_path.empty()) {
        try {
            out = std::make_unique<pcap_writer>(opts.out_path);
        } catch (const std::exception& e) { throw replay_error{std::string{"replay: "} + e.what()}; }
        out->set_epoch(origin);  // output timestamps on the capture's own clock
    }

    flow_table flows;
    replay_sink sink{flows, out.get()};
    tapstack::stack st{cfg, sink};
    detail::replay_services services{st, opts.app, opts.idle_close};
    services.open(fp.tcp_ports, fp.udp_ports, opts.host_ip6.has_value());

    replay_report report;
    report.input = pcap_path;
    report.host_ip = opts.host_ip;
    report.host_mac = host_mac;
    report.host_ip6 = opts.host_ip6;
    // The host's IPv6 addresses: the global one given and the link-local one from the MAC
    // (RFC 4291 App. A, Linux's default addr_gen_mode), which the stack derives the same way.
    const std::optional<ip::address> host6 = opts.host_ip6 ? std::optional<ip::address>{*opts.host_ip6} : std::nullopt;
    const std::optional<ip::address> host_ll =
        opts.host_ip6 ? std::optional<ip::address>{st.ipv6_link_local()} : std::nullopt;
    auto is_host6 = [&](const ip::address& a) { return (host6 && a == *host6) || (host_ll && a == *host_ll); };
    // Multicast the host listens to: all-nodes and its solicited-node groups (RFC 4291 §2.7.1).
    auto host_group6 = [&](const ip::address& a) {
        if (!host6 || !a.is_v6()) return false;
        const auto& b = a.key_bytes();
        static constexpr std::array<std::uint8_t, 13> sn{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
        if (a == ip::address{*ip::address_v6::from_string("ff02::1")}) return true;
        if (!std::equal(sn.begin(), sn.end(), b.begin())) return false;
        for (const auto& own : {*host6, *host_ll})
            if (std::equal(b.begin() + 13, b.end(), own.key_bytes().begin() + 13)) return true;
        return false;
    };
    auto to_host = [&](const parsed_frame& p) { return (p.ipv4 && p.dst_ip == h) || (p.ipv6 && is_host6(p.dst)); };

    // The virtual clock: t=0 at the first record. Between records, timers (the stack's and
    // the services') fire at their own deadlines.
    instant now{};
    std::optional<instant> stack_next = st.poll(now);
    auto settle = [&](instant t) {
        for (int rounds = 0; rounds < 64; ++rounds) {
            services.run(t);
            stack_next = st.poll(t);
            if (!services.pending()) break;
        }
    };
    settle(now);
    // Deterministic: the app acts at the instant of the frame that woke it (the stack ignores
    // the `now` of socket calls anyway), and nothing polls between records.
    auto serve_det = [&](instant t) {
        for (int rounds = 0; rounds < 64 && services.pending(); ++rounds) services.run(t);
    };
    bool records_drive_clock = opts.deterministic;
    auto advance_to = [&](instant t) {
        if (records_drive_clock) {
            now = std::max(now, t);
            return;
        }
        for (std::uint64_t guard = 0; guard < 10'000'000; ++guard) {
            std::optional<instant> d = stack_next;
            const auto app_next = services.deadline();
            if (app_next && (!d || *app_next < *d)) d = app_next;
            if (!d || *d > t) break;
            now = std::max(now, *d);
            services.on_timer(now);
            settle(now);
            if (stack_next && *stack_next <= now) stack_next = now + duration{1};  // a timer that did not move
        }
        now = std::max(now, t);
    };

    // Peers whose MAC the stack learned from the capture's own ARP, and those it was taught
    // (with the time): the recorded host knew them without ARP (e.g. a permanent neighbour
    // entry), so the lesson is repeated before the stack's ARP entry would expire.
    std::set<std::uint32_t> arp_peers;
    std::map<std::uint32_t, instant> primed_peers;
    std::set<ip::address> nd_peers, primed6;  // the same for IPv6 neighbors
    std::vector<std::byte> buf;
    auto reader = open_capture(pcap_path);
    while (auto rec = next_record(*reader)) {
        ++report.frames;
        const instant t =
            instant_from_us(std::chrono::duration_cast<std::chrono::microseconds>(rec->timestamp - origin).count());
        advance_to(t);
        const auto p = parse_frame(rec->frame);
        const auto idx = static_cast<std::int64_t>(rec->index);
        if (p.src_mac == host_mac) {
            ++report.frames_by_host;
            auto& flow = flows.get(key_of(p, true));
            flow.recorded_frames.push_back(summarize(rec->frame, p, idx, to_us(t), flow, flow.recorded));
            if (opts.deterministic && sink.emitted() < report.frames_by_host) {
                // The recorded stack sent a frame here that the replayed one has not: a timer
                // its runtime woke at this instant (the app then acted at the same instant).
                stack_next = st.poll(t);
                services.on_timer(t);
                serve_det(t);
            }
            continue;
        }
        const bool for_host = p.dst_mac == host_mac || p.dst_mac.is_broadcast() ||
            (p.dst_mac.is_multicast() && p.ipv4 && p.dst_ip == h) ||
            (p.dst_mac.is_multicast() && p.ipv6 && (is_host6(p.dst) || host_group6(p.dst)));
        if (!for_host) {
            ++report.frames_ignored;
            continue;
        }
        ++report.frames_to_host;
        buf.assign(rec->frame.begin(), rec->frame.end());
        if (p.kind == flow_kind::arp) arp_peers.insert(p.arp_sip);
        const auto primed = primed_peers.find(p.src_ip);
        if (!opts.deterministic && p.ipv4 && p.dst_ip == h && !arp_peers.contains(p.src_ip) &&
            (primed == primed_peers.end() || t - primed->second >= cfg.arp_entry_lifetime / 2)) {
            // The recorded host knew this peer's MAC before the capture began (or from a
            // static entry): teach the stack with an unsolicited ARP reply addressed to it,
            // which RFC 826 merges without answering.
            std::array<std::byte, 42> arp{};
            for (std::size_t i = 0; i < 6; ++i) {
                arp[i] = std::byte{host_mac.bytes[i]};
                arp[6 + i] = std::byte{p.src_mac.bytes[i]};
                arp[22 + i] = std::byte{p.src_mac.bytes[i]};
                arp[32 + i] = std::byte{host_mac.bytes[i]};
            }
            const mutable_bytes a{arp};
            store_be16(a, 12, 0x0806);
            store_be16(a, 14, 1);
            store_be16(a, 16, 0x0800);
            store_u8(a, 18, 6);
            store_u8(a, 19, 4);
            store_be16(a, 20, 2);
            store_be32(a, 28, p.src_ip);
            store_be32(a, 38, h);
            st.receive(bytes{arp}, t);
            primed_peers[p.src_ip] = t;
        }
        if (p.kind == flow_kind::ndp) nd_peers.insert(p.src);
        if (!opts.deterministic && p.ipv6 && is_host6(p.dst) && p.kind != flow_kind::ndp && !nd_peers.contains(p.src) &&
            !p.src.is_unspecified() && !primed6.contains(p.src)) {
            // As for ARP above: the recorded host knew this neighbor already. An unsolicited NA
            // would be dropped (RFC 4861 §7.2.5: no entry to update), so the stack is taught
            // with an NS from the peer, which creates a STALE entry (§7.2.3); the stack's NA
            // answering it is not part of the replay (muted).
            std::array<std::byte, 86> ns{};
            const mutable_bytes n{ns};
            const auto& tgt = p.dst.key_bytes();
            for (std::size_t i = 0; i < 6; ++i) {
                ns[6 + i] = std::byte{p.src_mac.bytes[i]};
                ns[80 + i] = std::byte{p.src_mac.bytes[i]};
            }
            store_be16(n, 0, 0x3333);
            store_u8(n, 2, 0xff);
            for (std::size_t i = 0; i < 3; ++i) store_u8(n, 3 + i, tgt[13 + i]);
            store_be16(n, 12, 0x86dd);
            store_u8(n, 14, 0x60);
            store_be16(n, 18, 32);
            store_u8(n, 20, 58);
            store_u8(n, 21, 255);
            ip::address_v6::bytes_type dst{0xff, 0x02, 0, 0,    0,    0,       0,       0,
                                           0,    0,    0, 0x01, 0xff, tgt[13], tgt[14], tgt[15]};
            for (std::size_t i = 0; i < 16; ++i) {
                store_u8(n, 22 + i, p.src.key_bytes()[i]);
                store_u8(n, 38 + i, dst[i]);
                store_u8(n, 62 + i, tgt[i]);
            }
            store_u8(n, 54, 135);
            store_u8(n, 78, 1);  // source link-layer address option
            store_u8(n, 79, 1);
            wire::checksum_accumulator acc;
            wire::add_pseudo_header(acc, p.src, ip::address_v6{dst}, 58, 32);
            acc.add(bytes{ns}.subspan(54, 32));
            store_be16(n, 56, acc.finish());
            sink.mute(true);
            st.receive(bytes{ns}, t);
            settle(t);
            sink.mute(false);
            primed6.insert(p.src);
        }
        if (p.kind == flow_kind::tcp && to_host(p)) {
            auto& flow = flows.get(key_of(p, false));
            const std::uint8_t flags = load_u8(rec->frame, p.l4_off + 13);
            if ((flags & 0x02) != 0 && (flags & 0x10) == 0) {
                // A new connection: both sides will choose new ISNs.
                flow.peer_isn = load_be32(rec->frame, p.l4_off + 4);
                flow.recorded = {};
                flow.replayed = {};
            }
            if (opts.translate) translate_tcp(mutable_bytes{buf}, p, flow);
            fix_l4_checksum(mutable_bytes{buf}, p);
        } else if (p.kind == flow_kind::udp && to_host(p)) {
            fix_l4_checksum(mutable_bytes{buf}, p);
        }
        st.receive(bytes{buf}, t);
        if (opts.deterministic)
            serve_det(t);
        else
            settle(t);
    }
    if (opts.deterministic) {
        // After the capture, timers run at their deadlines again (as in the normal mode).
        stack_next = st.poll(now);
        settle(now);
        records_drive_clock = false;
    }
    advance_to(instant_from_us(std::chrono::duration_cast<std::chrono::microseconds>(fp.last - origin).count()) +
               opts.tail);
    if (out) out->flush();

    report.frames_emitted = sink.emitted();
    report.stack_stats = format_stats(st.stats());
    report.capture_duration_us = std::chrono::duration_cast<std::chrono::microseconds>(fp.last - fp.first).count();
    for (auto& f : flows.all()) {
        auto r = compare_flow(*f, opts.tolerance, opts.max_details_per_flow);
        r.name = flow_name(f->key, opts.host_ip, opts.host_ip6);
        report.flows.push_back(std::move(r));
    }
    return report;
}

// --- the report ---------------------------------------------------------------------------------

bool replay_report::equivalent() const noexcept {
    return std::all_of(flows.begin(), flows.end(), [](const auto& f) { return f.equivalent(); });
}

std::string replay_report::summary() const {
    std::uint64_t matched = 0, differing = 0, missing = 0, extra = 0, tolerated = 0;
    for (const auto& f : flows) {
        matched += f.matched;
        differing += f.differing;
        missing += f.missing;
        extra += f.extra;
        tolerated += f.tolerated_unmatched;
    }
    std::string s = "replay " + input + ": " + (equivalent() ? "equivalent" : "DIFFERENT") + ": " +
        std::to_string(flows.size()) + " flows, " + std::to_string(matched) + " frames matched, " +
        std::to_string(differing) + " differing, " + std::to_string(missing) + " missing, " + std::to_string(extra) +
        " extra";
    if (tolerated != 0) s += ", " + std::to_string(tolerated) + " unmatched tolerated";
    return s;
}

namespace {
std::string_view difference_name(replay_difference::kind k) {
    switch (k) {
    case replay_difference::kind::differing: return "differing";
    case replay_difference::kind::missing: return "missing";
    case replay_difference::kind::extra: return "extra";
    }
    return "?";
}

std::string json_string(std::string_view s) {
    std::string o = "\"";
    for (char c : s) {
        switch (c) {
        case '"': o += "\\\""; break;
        case '\\': o += "\\\\"; break;
        case '\n': o += "\\n"; break;
        case '\r': o += "\\r"; break;
        case '\t': o += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                o += b;
            } else {
                o += c;
            }
        }
    }
    return o + "\"";
}
}  // namespace

std::string replay_report::to_text() const {
    std::ostringstream o;
    o << "input " << input << ": host " << (host_ip6 ? host_ip6->to_string() : host_ip.to_string()) << " at "
      << host_mac.to_string() << ", " << frames << " frames (" << frames_to_host << " to the host, " << frames_by_host
      << " by it, " << frames_ignored << " ignored) over " << capture_duration_us << " us; the stack sent "
      << frames_emitted << "\n";
    for (const auto& f : flows) {
        o << (f.equivalent() ? "  ok   " : "  DIFF ") << f.name << ": recorded " << f.recorded << ", replayed "
          << f.replayed << ", matched " << f.matched << ", differing " << f.differing << ", missing " << f.missing
          << ", extra " << f.extra;
        if (f.tolerated_unmatched != 0) o << ", unmatched tolerated " << f.tolerated_unmatched;
        o << "\n";
        for (const auto& d : f.details) {
            o << "         " << difference_name(d.what);
            if (d.what == replay_difference::kind::differing)
                o << " " << d.field << ": recorded " << d.recorded << "; replayed " << d.replayed;
            else if (d.what == replay_difference::kind::missing)
                o << ": " << d.recorded;
            else
                o << ": " << d.replayed;
            o << "\n";
        }
    }
    o << summary() << "\n";
    return o.str();
}

std::string replay_report::to_json() const {
    std::ostringstream o;
    o << "{\n  \"input\": " << json_string(input) << ",\n  \"host_ip\": " << json_string(host_ip.to_string())
      << (host_ip6 ? ",\n  \"host_ip6\": " + json_string(host_ip6->to_string()) : std::string{})
      << ",\n  \"host_mac\": " << json_string(host_mac.to_string())
      << ",\n  \"equivalent\": " << (equivalent() ? "true" : "false") << ",\n  \"frames\": " << frames
      << ",\n  \"frames_to_host\": " << frames_to_host << ",\n  \"frames_by_host\": " << frames_by_host
      << ",\n  \"frames_ignored\": " << frames_ignored << ",\n  \"frames_emitted\": " << frames_emitted
      << ",\n  \"capture_duration_us\": " << capture_duration_us << ",\n  \"summary\": " << json_string(summary())
      << ",\n  \"flows\": [";
    for (std::size_t i = 0; i < flows.size(); ++i) {
        const auto& f = flows[i];
        o << (i ? "," : "") << "\n    {\"flow\": " << json_string(f.name) << ", \"kind\": " << json_string(f.kind)
          << ", \"equivalent\": " << (f.equivalent() ? "true" : "false") << ", \"recorded\": " << f.recorded
          << ", \"replayed\": " << f.replayed << ", \"matched\": " << f.matched << ", \"differing\": " << f.differing
          << ", \"missing\": " << f.missing << ", \"extra\": " << f.extra
          << ", \"tolerated_unmatched\": " << f.tolerated_unmatched << ", \"differences\": [";
        for (std::size_t k = 0; k < f.details.size(); ++k) {
            const auto& d = f.details[k];
            o << (k ? ", " : "") << "{\"type\": " << json_string(difference_name(d.what))
              << ", \"recorded_index\": " << d.recorded_index << ", \"replayed_index\": " << d.replayed_index
              << ", \"field\": " << json_string(d.field) << ", \"recorded\": " << json_string(d.recorded)
              << ", \"replayed\": " << json_string(d.replayed) << "}";
        }
        o << "]}";
    }
    o << "\n  ]\n}\n";
    return o.str();
}

}  // namespace tapstack::tap
