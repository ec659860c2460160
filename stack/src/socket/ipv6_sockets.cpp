// The IPv6 halves of the socket layer's output: UDP datagrams and TCP segments (RFC 8200 §8.1:
// the upper-layer checksums cover the IPv6 pseudo-header; UDP's is mandatory).
#include "../stack/stack_impl.hpp"
#include <tapstack/wire/udp.hpp>

namespace tapstack {

result<std::size_t> stack::impl::udp_send_v6(udp_socket& u, bytes payload, const ip::endpoint& to, instant t) {
    const auto dst = to.address.to_v6();
    if (u.local.address.is_v4() && !u.local.address.is_unspecified()) return errc::invalid_argument;
    const std::size_t size = wire::udp_header_size + payload.size();
    if (size + wire::ipv6_header_size > cfg.mtu) return errc::message_size;
    std::optional<ip::address_v6> src;
    if (u.local.address.is_v6() && !u.local.address.is_unspecified())
        src = u.local.address.to_v6();
    else
        src = ipv6_source_for(*this, dst);
    if (!src) return errc::address_not_available;
    const ip::address src_any{*src};
    const bool sent =
        send_ipv6(*this, *src, dst, static_cast<std::uint8_t>(wire::ip_protocol::udp), size, t, [&](mutable_bytes buf) {
            copy_bytes(buf, wire::udp_header_size, payload);
            wire::udp_header{u.local.port, to.port}.encode(buf, payload.size(), src_any, to.address);
        });
    if (!sent) return errc::host_unreachable;
    ++stats.udp.out_datagrams;
    return payload.size();
}

}  // namespace tapstack

namespace tapstack {

void stack::impl::send_segment_v6(const ip::four_tuple& tuple, const wire::tcp_segment& seg) {
    const ip::address src = tuple.local.address, dst = tuple.remote.address;
    tx_gso_size = seg.payload.size() > seg.gso_size ? seg.gso_size : 0;  // TSO (../stack/output.cpp, emit)
    const bool sent = send_ipv6(
        *this, src.to_v6(), dst.to_v6(), static_cast<std::uint8_t>(wire::ip_protocol::tcp), seg.encoded_size(), now,
        [&](mutable_bytes buf) { wire::encode_tcp(seg, buf, src, dst, cfg.tx_checksum_offload); });
    tx_gso_size = 0;
    if (sent) ++stats.tcp.out_segs;
    if (sent && seg.flags.rst) ++stats.tcp.out_rsts;
}

}  // namespace tapstack
