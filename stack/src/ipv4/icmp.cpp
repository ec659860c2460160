// ICMP (RFC 792, RFC 1122 3.2.2): echo replies, destination-unreachable errors we send, and
// the errors we receive about our TCP segments (RFC 9293 §3.9.2.2, RFC 1122 4.2.3.9, RFC 5927,
// RFC 1191), handed to the connection they quote.
#include "../stack/stack_impl.hpp"
#include "ipv4.hpp"
#include <algorithm>
#include <tapstack/wire/icmp.hpp>

namespace tapstack {
namespace {

constexpr std::uint8_t icmp_time_exceeded = 11;
constexpr std::uint8_t icmp_parameter_problem = 12;

/// Linux's net.ipv4.route.min_pmtu, 552 (512 bytes of data + 20 of IP + 20 of TCP; RFC 1191
/// §3 only forbids going below 68). A "fragmentation needed" naming a smaller next-hop MTU is
/// clamped to it: a forged report cannot shrink a connection to a few bytes a segment
/// (RFC 5927 §7.2), so the smallest MSS it can impose is 552 - 40 = 512. Left alone: a real
/// path narrower than 552 still refuses our DF datagrams and the connection times out (Linux
/// clears DF there).
constexpr std::uint16_t min_path_mtu = 552;
constexpr std::uint16_t ipv4_tcp_headers = 40;

/// The TCP segment an ICMP error quotes: RFC 792 promises the IP header and the first 8 bytes of
/// its data, which are TCP's ports and sequence number.
struct quoted_segment {
    ip::four_tuple tuple;
    tcp::seq_number seq;
};
enum class quote_status : std::uint8_t { tcp, not_tcp, malformed };

/// Never reads past `q`: the quote is whatever the router chose to send, and fuzzers feed it.
quote_status parse_quote(bytes q, ip::address_v4 ours, quoted_segment& out) {
    constexpr std::size_t min_ip = 20, tcp_prefix = 8;
    if (q.size() < min_ip) return quote_status::malformed;
    const std::uint8_t vihl = load_u8(q, 0);
    const std::size_t ihl = std::size_t{vihl & 0x0fu} * 4;
    if ((vihl >> 4) != 4 || ihl < min_ip || q.size() < ihl + tcp_prefix) return quote_status::malformed;
    if (load_u8(q, 9) != static_cast<std::uint8_t>(wire::ip_protocol::tcp)) return quote_status::not_tcp;
    // A later fragment carries no TCP header; and an error about a datagram we did not send
    // (source not ours) names no connection of ours.
    if ((load_be16(q, 6) & 0x1fff) != 0) return quote_status::malformed;
    const ip::address_v4 src{load_be32(q, 12)}, dst{load_be32(q, 16)};
    if (src != ours) return quote_status::malformed;
    out.tuple = ip::four_tuple{{ip::address{src}, load_be16(q, ihl)}, {ip::address{dst}, load_be16(q, ihl + 2)}};
    out.seq = tcp::seq_number{load_be32(q, ihl + 4)};
    return quote_status::tcp;
}

/// RFC 1122 4.2.3.9 (RFC 9293 SHLD-25/26) for type 3: hard are protocol (2) and port (3)
/// unreachable, and the administratively prohibited family (9, 10, 13, RFC 1812 §5.2.7.1;
/// Linux's icmp_err_convert marks these and a few more fatal); code 4 is PMTU discovery,
/// handled apart.
/// Everything else (0, 1, 5, the rest) is soft. Port unreachable reads as "connection
/// refused"; the others as "host unreachable" (errc has no separate network/protocol values,
/// and the application only needs to know the host cannot be reached).
bool unreachable_is_hard(std::uint8_t code) { return code == 2 || code == 3 || code == 9 || code == 10 || code == 13; }

void deliver_to_tcp(stack::impl& s, const wire::icmp_view& icmp, instant t) {
    auto& stats = s.stats;
    quoted_segment q{};
    switch (parse_quote(icmp.body(), s.cfg.ipv4.addr, q)) {
    case quote_status::malformed: ++stats.icmp.in_bad_quotes; return;
    case quote_status::not_tcp: return;  // UDP keeps no per-socket error state
    case quote_status::tcp: break;
    }
    auto it = s.connections.find(q.tuple);
    if (it == s.connections.end() || !it->conn) {
        ++stats.icmp.in_tcp_no_connection;
        return;
    }
    tcp::icmp_outcome outcome = tcp::icmp_outcome::ignored;
    const std::uint8_t type = icmp.type(), code = icmp.code();
    if (type == static_cast<std::uint8_t>(wire::icmp_type::destination_unreachable) &&
        code == static_cast<std::uint8_t>(wire::icmp_unreachable_code::fragmentation_needed)) {
        // RFC 1191 §4: the next-hop MTU is the low 16 bits of the second word. Zero comes from a
        // router older than RFC 1191 (§5); it could be guessed from the plateau table, but the
        // RTO resends anyway, so we ignore it. A report not below our link MTU is nonsense.
        const auto mtu = static_cast<std::uint16_t>(icmp.rest_of_header() & 0xffffu);
        if (mtu == 0 || mtu >= s.cfg.mtu) return;
        const std::uint16_t floored = std::max(mtu, min_path_mtu);
        outcome = it->conn->on_path_mtu(q.seq, static_cast<std::uint16_t>(floored - ipv4_tcp_headers), t);
    } else {
        const bool hard =
            type == static_cast<std::uint8_t>(wire::icmp_type::destination_unreachable) && unreachable_is_hard(code);
        const tcp::error reported = type == static_cast<std::uint8_t>(wire::icmp_type::destination_unreachable) &&
                code == static_cast<std::uint8_t>(wire::icmp_unreachable_code::port)
            ? tcp::error::connection_refused
            : tcp::error::host_unreachable;
        outcome = it->conn->on_icmp_error(q.seq, reported, hard, t);
    }
    count_icmp_outcome(stats.icmp, outcome);
    s.touch(*it);
}

}  // namespace

void on_icmp(stack::impl& s, const wire::ipv4_view& ip, instant t) {
    ++s.stats.icmp.in_msgs;
    auto icmp = wire::icmp_view::parse(ip.payload());
    if (!icmp) {
        ++s.stats.icmp.in_errors;
        return;
    }
    switch (icmp->type()) {
    case static_cast<std::uint8_t>(wire::icmp_type::echo_request): {
        ++s.stats.icmp.in_echos;
        // RFC 1122 3.2.2.6: no reply to an echo sent to a broadcast address is allowed silently.
        if (ip.destination() != s.cfg.ipv4.addr) return;
        const auto body = icmp->body();
        const bool sent = send_ipv4(s, ip.source(), static_cast<std::uint8_t>(wire::ip_protocol::icmp),
                                    wire::icmp_header_size + body.size(), t, [&](mutable_bytes payload_out) {
                                        copy_bytes(payload_out, wire::icmp_header_size, body);
                                        wire::icmp_header{static_cast<std::uint8_t>(wire::icmp_type::echo_reply), 0,
                                                          icmp->rest_of_header()}
                                            .encode(payload_out, body.size());
                                    });
        if (sent) {
            ++s.stats.icmp.out_msgs;
            ++s.stats.icmp.out_echo_reps;
        }
        return;
    }
    case static_cast<std::uint8_t>(wire::icmp_type::destination_unreachable):
    case icmp_time_exceeded:
    case icmp_parameter_problem:
        if (icmp->type() == icmp_time_exceeded)
            ++s.stats.icmp.in_time_excds;
        else if (icmp->type() == icmp_parameter_problem)
            ++s.stats.icmp.in_parm_probs;
        else
            ++s.stats.icmp.in_dest_unreachs;
        // RFC 1122 3.2.2: an error sent to a broadcast or multicast address is no report about
        // a datagram of ours (Linux's icmp_rcv drops them too).
        if (ip.destination() != s.cfg.ipv4.addr) return;
        // RFC 9293 §3.9.2.2 MUST-54: hand it to the transport it quotes.
        deliver_to_tcp(s, *icmp, t);
        return;
    default: return;  // source quench (RFC 9293 MUST-55, RFC 6633), redirects, ...: dropped
    }
}

void send_unreachable(stack::impl& s, const wire::ipv4_view& offending, wire::icmp_unreachable_code code, instant t) {
    // RFC 1122 3.2.2: never about an ICMP error, a broadcast/multicast, or a non-initial fragment.
    if (offending.destination() != s.cfg.ipv4.addr || offending.fragment_offset() != 0) return;
    if (offending.protocol() == static_cast<std::uint8_t>(wire::ip_protocol::icmp)) {
        const auto p = offending.payload();
        if (p.empty()) return;
        const auto type = static_cast<std::uint8_t>(p[0]);
        const bool is_query = type == 0 || type == 8 || type == 13 || type == 14 || type == 15 || type == 16;
        if (!is_query) return;
    }
    if (!s.icmp_error_allowed(t)) return;
    // Quote the IP header and as much data as fits in a 576-byte datagram (RFC 1812 4.3.2.3),
    // which is at least the 8 bytes RFC 792 asks for.
    constexpr std::size_t max_datagram = 576;
    const std::size_t quote_size =
        std::min(offending.packet().size(), max_datagram - wire::ipv4_min_header_size - wire::icmp_header_size);
    const auto quote = offending.packet().first(quote_size);
    const bool sent =
        send_ipv4(s, offending.source(), static_cast<std::uint8_t>(wire::ip_protocol::icmp),
                  wire::icmp_header_size + quote.size(), t, [&](mutable_bytes payload_out) {
                      copy_bytes(payload_out, wire::icmp_header_size, quote);
                      wire::icmp_header{static_cast<std::uint8_t>(wire::icmp_type::destination_unreachable),
                                        static_cast<std::uint8_t>(code), 0}
                          .encode(payload_out, quote.size());
                  });
    if (sent) {
        ++s.stats.icmp.out_msgs;
        ++s.stats.icmp.out_dest_unreachs;
    }
}

}  // namespace tapstack
