#include <tapstack/stack.hpp>

namespace tapstack {

std::optional<std::string> stack_config::validate() const {
    if (mac.is_multicast()) return "mac: must be a unicast address";
    if (ipv4.prefix_length > 32) return "ipv4: prefix length must be 0..32";
    if (mtu < 576 || mtu > 9000) return "mtu: must be 576..9000";
    if (ttl == 0) return "ttl: must be at least 1";
    if (ephemeral_low == 0 || ephemeral_low > ephemeral_high) return "ephemeral ports: need 1 <= low <= high <= 65535";
    if (!privileged && ephemeral_low < 1024)
        return "ephemeral ports: an unprivileged stack cannot use ports below 1024";
    if (arp_max_entries == 0) return "arp_max_entries: must be at least 1";
    if (max_tcp_sockets == 0 || max_udp_sockets == 0) return "socket limits: must be at least 1";
    if (udp_receive_queue_bytes < mtu) return "udp_receive_queue_bytes: must hold at least one datagram";
    if (tcp.mss + 40u > mtu) return "tcp.mss: must fit the MTU (mss + 40 <= mtu)";
    if (tcp.mss < 88) return "tcp.mss: too small";
    if (tcp.send_buffer_size < tcp.mss || tcp.receive_buffer_size < tcp.mss)
        return "tcp buffers: must hold at least one segment";
    if (gateway && !ipv4.contains(*gateway)) return "gateway: must be on the interface's subnet";
    return std::nullopt;
}

}  // namespace tapstack
