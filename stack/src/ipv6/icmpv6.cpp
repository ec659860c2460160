// ICMPv6 (RFC 4443): echo replies, the errors we send (rate-limited, §2.4(f)), and the
// dispatch of Neighbor Discovery messages.
#include "../stack/stack_impl.hpp"
#include "ipv6.hpp"
#include <algorithm>

namespace tapstack {
namespace {
constexpr auto icmpv6_protocol = static_cast<std::uint8_t>(wire::ip_protocol::icmpv6);

ip::address_v6 address_at(bytes b, std::size_t at) {
    ip::address_v6::bytes_type a{};
    for (std::size_t i = 0; i < 16; ++i) a[i] = load_u8(b, at + i);
    return ip::address_v6{a};
}

/// The connection and sequence number an IPv6 quote names: a 40-byte header, then TCP (no
/// extension headers). The caller has checked that the quote holds both.
constexpr std::size_t quoted_ipv6_header = 40, quoted_tcp_prefix = 8;
struct quoted_tcp6 {
    ip::four_tuple tuple;
    tcp::seq_number seq;
};
quoted_tcp6 read_quote6(bytes quote) {
    return {{{ip::address{address_at(quote, 8)}, load_be16(quote, quoted_ipv6_header)},
             {ip::address{address_at(quote, 24)}, load_be16(quote, quoted_ipv6_header + 2)}},
            tcp::seq_number{load_be32(quote, quoted_ipv6_header + 4)}};
}

/// RFC 4443 §3.1 codes as TCP sees them (RFC 1122 4.2.3.9 carried over, as Linux's
/// icmpv6_err_convert does): administratively prohibited (1), port unreachable (4), source
/// address failed policy (5) and reject route (6) are hard; no route (0), beyond scope (2),
/// address unreachable (3), time exceeded and parameter problem are soft.
bool unreachable6_is_hard(std::uint8_t code) { return code == 1 || code == 4 || code == 5 || code == 6; }

/// RFC 9293 §3.9.2.2 MUST-54 for ICMPv6: the quote is the invoking packet, a 40-byte IPv6
/// header then (without extension headers, the only case we follow) at least TCP's ports and
/// sequence number. RFC 5927 §4.1's sequence check is the connection's (on_icmp_error).
void deliver_to_tcp(stack::impl& s, const wire::icmpv6_view& m, instant t) {
    const auto quote = m.body();
    if (quote.size() < quoted_ipv6_header || (load_u8(quote, 0) >> 4) != 6) {
        ++s.stats.icmp6.in_bad_quotes;
        return;
    }
    if (load_u8(quote, 6) != static_cast<std::uint8_t>(wire::ip_protocol::tcp)) return;  // not TCP, or ext. headers
    if (quote.size() < quoted_ipv6_header + quoted_tcp_prefix || !ipv6_is_ours(s, address_at(quote, 8))) {
        ++s.stats.icmp6.in_bad_quotes;
        return;
    }
    const auto q = read_quote6(quote);
    auto it = s.connections.find(q.tuple);
    if (it == s.connections.end() || !it->conn) {
        ++s.stats.icmp6.in_tcp_no_connection;
        return;
    }
    const bool unreachable = m.type() == static_cast<std::uint8_t>(wire::icmpv6_type::destination_unreachable);
    const bool hard = unreachable && unreachable6_is_hard(m.code());
    const tcp::error reported =
        unreachable && m.code() == 4 ? tcp::error::connection_refused : tcp::error::host_unreachable;
    count_icmp_outcome(s.stats.icmp6, it->conn->on_icmp_error(q.seq, reported, hard, t));
    s.touch(*it);
}
}  // namespace

void on_icmpv6(stack::impl& s, const wire::ipv6_view& ip, bytes message, instant t) {
    ++s.stats.icmp6.in_msgs;
    auto m = wire::icmpv6_view::parse(message, ip.source(), ip.destination());
    if (!m) {
        ++s.stats.icmp6.in_errors;
        return;
    }
    switch (m->type()) {
    case static_cast<std::uint8_t>(wire::icmpv6_type::echo_request): {
        ++s.stats.icmp6.in_echos;
        // RFC 4443 §4.2: the reply goes back to the source; to a multicast request we answer
        // from a unicast address of ours (§2.2).
        const auto dst = ip.destination();
        std::optional<ip::address_v6> from = dst;
        if (dst.is_multicast()) from = ipv6_source_for(s, ip.source());
        if (!from || ip.source().is_unspecified()) return;
        const auto body = m->body();
        const bool sent = send_ipv6(
            s, *from, ip.source(), icmpv6_protocol, wire::icmpv6_header_size + body.size(), t, [&](mutable_bytes out) {
                copy_bytes(out, wire::icmpv6_header_size, body);
                wire::icmpv6_header{static_cast<std::uint8_t>(wire::icmpv6_type::echo_reply), 0, m->rest_of_header()}
                    .encode(out, body.size(), *from, ip.source());
            });
        if (sent) {
            ++s.stats.icmp6.out_msgs;
            ++s.stats.icmp6.out_echo_reps;
        }
        return;
    }
    case static_cast<std::uint8_t>(wire::icmpv6_type::neighbor_solicitation):
    case static_cast<std::uint8_t>(wire::icmpv6_type::neighbor_advertisement):
    case static_cast<std::uint8_t>(wire::icmpv6_type::router_advertisement):
    case static_cast<std::uint8_t>(wire::icmpv6_type::router_solicitation):
    case static_cast<std::uint8_t>(wire::icmpv6_type::redirect): on_ndp(s, ip, *m, t); return;
    case static_cast<std::uint8_t>(wire::icmpv6_type::destination_unreachable):
    case static_cast<std::uint8_t>(wire::icmpv6_type::time_exceeded):
    case static_cast<std::uint8_t>(wire::icmpv6_type::parameter_problem):
        if (m->type() == static_cast<std::uint8_t>(wire::icmpv6_type::time_exceeded))
            ++s.stats.icmp6.in_time_excds;
        else if (m->type() == static_cast<std::uint8_t>(wire::icmpv6_type::parameter_problem))
            ++s.stats.icmp6.in_parm_problems;
        else
            ++s.stats.icmp6.in_dest_unreachs;
        if (ip.destination().is_multicast()) return;  // no report about a packet of ours
        deliver_to_tcp(s, *m, t);
        return;
    case static_cast<std::uint8_t>(wire::icmpv6_type::packet_too_big): {
        ++s.stats.icmp6.in_pkt_too_bigs;
        // RFC 8201 §4: an MTU below 1280 is not believed. The MSS of IPv6 connections opened
        // from now on goes down (RFC 8201 §5.2 allows coarse path MTU state), and so does the
        // send MSS of the connection the quoted segment came from.
        const std::uint32_t mtu = m->rest_of_header();
        if (mtu < wire::ipv6_minimum_mtu || mtu >= s.cfg.mtu) return;
        const auto mss = static_cast<std::uint16_t>(mtu - 60);
        // First the connection the quoted segment belongs to: its bound is the shared IPv6 MSS
        // as it stood, and lowering that first would hide the news from it. The quote is the
        // invoking packet: a 40-byte IPv6 header, then (without extension headers) TCP.
        const auto quote = m->body();
        if (quote.size() >= quoted_ipv6_header + quoted_tcp_prefix &&
            load_u8(quote, 6) == static_cast<std::uint8_t>(wire::ip_protocol::tcp)) {
            const auto q = read_quote6(quote);
            if (auto it = s.connections.find(q.tuple); it != s.connections.end() && it->conn) {
                // RFC 5927 §4.1, as for the other errors: only a report quoting data in flight
                // lowers this connection's MSS and sends that data again, smaller.
                count_icmp_outcome(s.stats.icmp6, it->conn->on_path_mtu(q.seq, mss, t));
                s.touch(*it);
            }
        }
        // Then the MSS of IPv6 connections opened from now on (RFC 8201 §5.2 allows coarse path
        // MTU state; the 1280-byte floor bounds what a forged report can do).
        if (mss < s.tcp_v6.mss) s.tcp_v6.mss = mss;
        return;
    }
    default: return;  // RFC 4443 §2.4(b): unknown informational messages are silently discarded
    }
}

void send_icmpv6_error(stack::impl& s, bytes offending, wire::icmpv6_type type, std::uint8_t code, std::uint32_t rest,
                       instant t, bool allow_multicast) {
    if (offending.size() < wire::ipv6_header_size) return;
    const auto src = address_at(offending, 8);
    const auto dst = address_at(offending, 24);
    // RFC 4443 §2.4(e): never in answer to an ICMPv6 error, to a packet for a multicast group
    // (save packet too big and unrecognized options), or to a source that names no single node.
    if (src.is_unspecified() || src.is_multicast()) return;
    if (dst.is_multicast() && !allow_multicast) return;
    if (load_u8(offending, 6) == icmpv6_protocol && offending.size() > wire::ipv6_header_size &&
        wire::is_icmpv6_error(load_u8(offending, wire::ipv6_header_size)))
        return;
    std::optional<ip::address_v6> from = dst;
    if (dst.is_multicast() || !ipv6_is_ours(s, dst)) from = ipv6_source_for(s, src);
    if (!from) return;
    // §2.4(f): rate-limited (the token bucket IPv4's errors use).
    if (!s.icmp_error_allowed(t)) {
        ++s.stats.icmp6.out_rate_limited;
        return;
    }
    // §2.4(c): "as much of invoking packet as possible without the ICMPv6 packet exceeding the
    // minimum IPv6 MTU".
    const std::size_t quote_size =
        std::min(offending.size(), wire::ipv6_minimum_mtu - wire::ipv6_header_size - wire::icmpv6_header_size);
    const auto quote = offending.first(quote_size);
    const bool sent =
        send_ipv6(s, *from, src, icmpv6_protocol, wire::icmpv6_header_size + quote.size(), t, [&](mutable_bytes out) {
            copy_bytes(out, wire::icmpv6_header_size, quote);
            wire::icmpv6_header{static_cast<std::uint8_t>(type), code, rest}.encode(out, quote.size(), *from, src);
        });
    if (!sent) return;
    ++s.stats.icmp6.out_msgs;
    switch (type) {
    case wire::icmpv6_type::destination_unreachable: ++s.stats.icmp6.out_dest_unreachs; break;
    case wire::icmpv6_type::parameter_problem: ++s.stats.icmp6.out_parm_problems; break;
    case wire::icmpv6_type::time_exceeded: ++s.stats.icmp6.out_time_excds; break;
    default: break;
    }
}

}  // namespace tapstack
