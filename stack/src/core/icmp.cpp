// ICMP (RFC 792, RFC 1122 3.2.2): echo replies, and destination-unreachable errors we send.
#include "stack_impl.hpp"
#include <algorithm>
#include <tapstack/wire/icmp.hpp>

namespace tapstack {

void stack::impl::on_icmp(const wire::ipv4_view& ip, instant t) {
    ++stats.icmp.in_msgs;
    auto icmp = wire::icmp_view::parse(ip.payload());
    if (!icmp) {
        ++stats.icmp.in_errors;
        return;
    }
    switch (icmp->type()) {
    case static_cast<std::uint8_t>(wire::icmp_type::echo_request): {
        ++stats.icmp.in_echos;
        // RFC 1122 3.2.2.6: no reply to an echo sent to a broadcast address is allowed silently.
        if (ip.destination() != cfg.ipv4.addr) return;
        const auto body = icmp->body();
        const bool sent = send_ipv4(ip.source(), static_cast<std::uint8_t>(wire::ip_protocol::icmp),
                                    wire::icmp_header_size + body.size(), t, [&](mutable_bytes payload_out) {
                                        copy_bytes(payload_out, wire::icmp_header_size, body);
                                        wire::icmp_header{static_cast<std::uint8_t>(wire::icmp_type::echo_reply), 0,
                                                          icmp->rest_of_header()}
                                            .encode(payload_out, body.size());
                                    });
        if (sent) {
            ++stats.icmp.out_msgs;
            ++stats.icmp.out_echo_reps;
        }
        return;
    }
    case static_cast<std::uint8_t>(wire::icmp_type::destination_unreachable):
        ++stats.icmp.in_dest_unreachs;
        return;
    default:
        return;
    }
}

bool stack::impl::icmp_error_allowed(instant t) {
    // Token bucket: icmp_error_rate per second, burst of the same size.
    const double rate = static_cast<double>(cfg.icmp_error_rate);
    if (t > icmp_refill_at) {
        const double elapsed = std::chrono::duration<double>(t - icmp_refill_at).count();
        icmp_tokens = std::min(rate, icmp_tokens + elapsed * rate);
        icmp_refill_at = t;
    }
    if (icmp_tokens < 1.0) {
        ++stats.icmp.out_rate_limited;
        return false;
    }
    icmp_tokens -= 1.0;
    return true;
}

void stack::impl::send_unreachable(const wire::ipv4_view& offending, wire::icmp_unreachable_code code, instant t) {
    // RFC 1122 3.2.2: never about an ICMP error, a broadcast/multicast, or a non-initial fragment.
    if (offending.destination() != cfg.ipv4.addr || offending.fragment_offset() != 0) return;
    if (offending.protocol() == static_cast<std::uint8_t>(wire::ip_protocol::icmp)) {
        const auto p = offending.payload();
        if (p.empty()) return;
        const auto type = static_cast<std::uint8_t>(p[0]);
        const bool is_query = type == 0 || type == 8 || type == 13 || type == 14 || type == 15 || type == 16;
        if (!is_query) return;
    }
    if (!icmp_error_allowed(t)) return;
    // Quote the IP header and as much data as fits in a 576-byte datagram (RFC 1812 4.3.2.3),
    // which is at least the 8 bytes RFC 792 asks for.
    constexpr std::size_t max_datagram = 576;
    const std::size_t quote_size =
        std::min(offending.packet().size(), max_datagram - wire::ipv4_min_header_size - wire::icmp_header_size);
    const auto quote = offending.packet().first(quote_size);
    const bool sent = send_ipv4(offending.source(), static_cast<std::uint8_t>(wire::ip_protocol::icmp),
                                wire::icmp_header_size + quote.size(), t, [&](mutable_bytes payload_out) {
                                    copy_bytes(payload_out, wire::icmp_header_size, quote);
                                    wire::icmp_header{static_cast<std::uint8_t>(wire::icmp_type::destination_unreachable),
                                                      static_cast<std::uint8_t>(code), 0}
                                        .encode(payload_out, quote.size());
                                });
    if (sent) {
        ++stats.icmp.out_msgs;
        ++stats.icmp.out_dest_unreachs;
    }
}

}  // namespace tapstack
