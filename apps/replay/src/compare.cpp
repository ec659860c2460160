#include "compare.hpp"

#include <cstdio>
#include <sstream>
#include <tuple>

namespace tapstack::tap::detail {
namespace {

std::uint64_t fnv1a(bytes b) {
    std::uint64_t h = 14695981039346656037ull;
    for (auto c : b) {
        h ^= static_cast<std::uint8_t>(c);
        h *= 1099511628211ull;
    }
    return h;
}

}  // namespace

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

namespace {

void summarize_arp(const parsed_frame& p, frame_summary& s) {
    s.flags = static_cast<std::uint8_t>(p.arp_op);
    s.seq = p.arp_sip;
    s.ack = p.arp_tip;
    s.arp_sha = p.arp_sha;
    s.arp_tha = p.arp_tha;
}

void set_payload(bytes body, frame_summary& s) {
    s.payload_length = static_cast<std::uint32_t>(body.size());
    s.payload_hash = fnv1a(body);
}

void summarize_icmp(bytes f, const parsed_frame& p, frame_summary& s) {
    s.flags = load_u8(f, p.l4_off);
    s.code = load_u8(f, p.l4_off + 1);
    s.seq = load_be16(f, p.l4_off + 4);
    s.ack = load_be16(f, p.l4_off + 6);
    set_payload(f.subspan(p.l4_off + 8, p.l4_len - 8), s);
}

void summarize_ndp_mld(bytes f, const parsed_frame& p, frame_summary& s) {
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
    set_payload(f.subspan(p.l4_off + fixed, p.l4_len - fixed), s);
}

void summarize_tcp(bytes f, const parsed_frame& p, const flow_state& flow, tcp_space& space, frame_summary& s) {
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
    set_payload(f.subspan(o + p.tcp_hdr_len, p.l4_len - p.tcp_hdr_len), s);
}

}  // namespace

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
    case flow_kind::arp: summarize_arp(p, s); break;
    case flow_kind::icmp: summarize_icmp(f, p, s); break;
    case flow_kind::ndp:
    case flow_kind::mld: summarize_ndp_mld(f, p, s); break;
    case flow_kind::udp:
        s.sport = p.sport;
        s.dport = p.dport;
        set_payload(f.subspan(p.l4_off + 8, p.l4_len - 8), s);
        break;
    case flow_kind::tcp: summarize_tcp(f, p, flow, space, s); break;
    case flow_kind::other: set_payload(f, s); break;
    }
    return s;
}

namespace {

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

std::string num(auto v) { return std::to_string(v); }

/// Checks fields in replay_fields() order and keeps the first that differs and is not
/// tolerated: check(name, recorded value, replayed value, text of a summary's value).
class field_check {
public:
    field_check(const frame_summary& recorded, const frame_summary& replayed, const replay_tolerance& tol)
        : a{recorded}, b{replayed}, tol_{&tol} {}
    template <class X, class Y, class Text>
    void operator()(std::string_view name, const X& x, const Y& y, Text&& text) {
        if (d || tol_->ignored_fields.contains(name) || x == y) return;
        d = field_difference{name, text(a), text(b)};
    }
    const frame_summary& a;
    const frame_summary& b;
    std::optional<field_difference> d;

private:
    const replay_tolerance* tol_;
};

void check_tcp(field_check& check) {
    const frame_summary& a = check.a;
    const frame_summary& b = check.b;
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
    check("sack", std::tie(a.sack_count, a.sack_left, a.sack_right), std::tie(b.sack_count, b.sack_left, b.sack_right),
          [&](const frame_summary& s) {
              return s.sack_count == 0
                  ? std::string{"none"}
                  : num(s.sack_count) + " blocks, first " + num(s.sack_left) + "-" + num(s.sack_right);
          });
}

void check_icmp(field_check& check) {
    const frame_summary& a = check.a;
    const frame_summary& b = check.b;
    check("icmp_type", a.flags, b.flags, [&](const frame_summary& s) { return num(int{s.flags}); });
    check("icmp_code", a.code, b.code, [&](const frame_summary& s) { return num(int{s.code}); });
    check("icmp_id", a.seq, b.seq, [&](const frame_summary& s) { return num(s.seq); });
    check("icmp_seq", a.ack, b.ack, [&](const frame_summary& s) { return num(s.ack); });
}

void check_udp(field_check& check) {
    const frame_summary& a = check.a;
    const frame_summary& b = check.b;
    check("udp_ports", std::tie(a.sport, a.dport), std::tie(b.sport, b.dport),
          [&](const frame_summary& s) { return num(s.sport) + " > " + num(s.dport); });
}

void check_arp(field_check& check) {
    const frame_summary& a = check.a;
    const frame_summary& b = check.b;
    check("arp_op", a.flags, b.flags, [&](const frame_summary& s) { return num(int{s.flags}); });
    check("arp_sender", std::tie(a.seq, a.arp_sha), std::tie(b.seq, b.arp_sha),
          [](const frame_summary& s) { return ip_text(s.seq) + " at " + s.arp_sha.to_string(); });
    // RFC 826 leaves the target hardware address of a request unspecified (Linux sends
    // zeros or the cached address): only a reply's is compared.
    check("arp_target", std::tie(a.ack, a.flags == 2 ? a.arp_tha : link::mac_address{}),
          std::tie(b.ack, b.flags == 2 ? b.arp_tha : link::mac_address{}),
          [](const frame_summary& s) { return ip_text(s.ack) + " at " + s.arp_tha.to_string(); });
}

void check_ndp_mld(field_check& check) {
    const frame_summary& a = check.a;
    const frame_summary& b = check.b;
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
}

/// The payload, IP and Ethernet fields every kind shares.
void check_common(field_check& check) {
    const frame_summary& a = check.a;
    const frame_summary& b = check.b;
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
}

/// The first field (in replay_fields() order) in which the frames differ, ignoring the
/// tolerated ones; nullopt when they are equivalent.
std::optional<field_difference> first_difference(const frame_summary& a, const frame_summary& b,
                                                 const replay_tolerance& tol) {
    if (a.kind != b.kind)
        return field_difference{"kind", std::string{kind_name(a.kind)}, std::string{kind_name(b.kind)}};
    field_check check{a, b, tol};
    switch (a.kind) {
    case flow_kind::tcp: check_tcp(check); break;
    case flow_kind::icmp: check_icmp(check); break;
    case flow_kind::udp: check_udp(check); break;
    case flow_kind::arp: check_arp(check); break;
    case flow_kind::ndp:
    case flow_kind::mld: check_ndp_mld(check); break;
    case flow_kind::other: break;
    }
    check_common(check);
    return check.d;
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

}  // namespace

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

}  // namespace tapstack::tap::detail
