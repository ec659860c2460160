#pragma once
// The sans-I/O stack: one Ethernet interface with an IPv4 address, driven by receive() and poll().
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <optional>
#include <span>
#include <boost/system/result.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/errc.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/link/frame_sink.hpp>
#include <tapstack/wire/mac.hpp>
#include <tapstack/link/offload.hpp>
#include <tapstack/stats.hpp>
#include <tapstack/tcp/config.hpp>
#include <tapstack/tcp/connection.hpp>

namespace tapstack {

template <class T>
using result = boost::system::result<T, errc>;

struct stack_config {
    link::mac_address mac{{0x02, 0x54, 0x41, 0x50, 0x00, 0x01}};
    ip::interface_address ipv4;
    std::optional<ip::address_v4> gateway;
    std::uint16_t mtu = 1500;
    std::uint8_t ttl = 64;
    /// Seeds every random choice (ISN and port secrets, IP IDs): fixed in tests, from the OS in apps.
    std::uint64_t seed = 1;
    /// Recording mode for captures that replay byte for byte (echo-server --deterministic,
    /// replay --deterministic; issue #5). The ISN clock term (RFC 6528) and TSval (RFC 7323)
    /// are already functions of the seed and of `now`; what a capture of the stack's own
    /// frames cannot show is *when the application called*: its writes are stamped with the
    /// edge's clock, microseconds after the frame that caused them. With this flag the stack's
    /// clock moves only at events -- a frame received, or a poll that finds a timer due (a poll
    /// with nothing due leaves it alone) -- and socket calls act at that instant, ignoring
    /// their `now`. Every instant the stack uses is then the instant of a received frame or of
    /// a timer expiry that sent something, both visible in the capture. Off by default: a real
    /// app's writes are better stamped when they happen (RTT samples, RTO start).
    bool deterministic = false;
    /// Transmit checksum offload for TCP over IPv4 and IPv6, what Linux's loopback and veth do
    /// (CHECKSUM_PARTIAL): every outbound segment carries only the folded pseudo-header sum
    /// (RFC 9293 §3.1) and goes to the link through frame_sink::send_offloaded with
    /// tx_offload{needs_csum, csum_start = the TCP header, csum_offset = 16} and no GSO (TSO
    /// super-segments, tcp.gso_max_bytes, are unchanged). A link that cannot pass the work on
    /// completes the sum in software (the default send_offloaded); one whose frames never cross
    /// a wire hands them to the peer as partial, to be trusted, not checked
    /// (memory_link_config::checksum_offload). UDP and ICMP are always summed in full. Off by
    /// default: the stack's frames are then byte for byte those it always sent.
    bool tx_checksum_offload = false;

    // ARP (RFC 826, RFC 1122 2.3.2)
    duration arp_entry_lifetime = std::chrono::seconds{60};
    duration arp_retry_interval = std::chrono::seconds{1};
    std::uint8_t arp_max_retries = 3;
    std::uint16_t arp_max_entries = 256;
    std::uint16_t arp_max_pending = 64;  // packets waiting for resolution, all addresses
    std::uint8_t arp_max_pending_per_address = 8;  // RFC 1122 2.3.2.2: SHOULD save at least one

    // ICMP errors: at most this many per second (RFC 1812 4.3.2.8 style token bucket)
    std::uint32_t icmp_error_rate = 1000;

    // Ports (RFC 6056; IANA dynamic range)
    std::uint16_t ephemeral_low = 49152;
    std::uint16_t ephemeral_high = 65535;
    bool privileged = true;  // may bind ports below 1024

    // Sockets
    std::uint32_t max_udp_sockets = 1024;
    std::uint32_t udp_receive_queue_bytes = 256 * 1024;
    /// Listeners and connections (TIME-WAIT ones not counted: max_time_wait). Sized for a server:
    /// 10,000 busy and 100,000 idle connections at once. Idle ones hold no buffers (rings are
    /// allocated on first use), and the 4-tuple table's buckets cost 8 bytes each.
    std::uint32_t max_tcp_sockets = 131072;
    /// Connections in TIME-WAIT that nobody holds a handle to (Linux's tcp_max_tw_buckets). They
    /// do not count against max_tcp_sockets; past this bound the oldest goes (counted in
    /// tcp_stats::time_wait_overflows), so no connect or accept ever fails for TIME-WAIT.
    std::uint32_t max_time_wait = 131072;
    std::uint32_t max_syn_backlog = 4096;  // per listener, half-open connections (Linux's somaxconn)
    /// When the SYN backlog is full, drop a random half-open entry to admit the new SYN (RFC 4987
    /// §3.4) instead of refusing it: keeps a listener reachable during a SYN flood.
    bool syn_backlog_random_drop = true;
    /// With a listener's SYN backlog full, answer a SYN with a SYN cookie (RFC 4987 §3.6): a
    /// SYN-ACK whose ISN encodes the peer's MSS, so that the third-step ACK alone rebuilds the
    /// connection, straight into ESTABLISHED. Cookie connections go without window scaling,
    /// SACK and timestamps (the SYN-ACK offers none). Random drop applies only with this off.
    bool syn_cookies = true;
    // The overall bound on send/receive buffer memory is tcp.max_buffer_memory (tcp/config.hpp).
    tcp::config tcp;

    // IPv6 (RFC 8200, RFC 4861, RFC 4862): off unless a global address is given or
    // ipv6_link_local is set; the link-local address always comes from the MAC.
    std::optional<ip::interface_address_v6> ipv6;
    bool ipv6_link_local = false;
    std::uint8_t ipv6_hop_limit = 64;
    std::uint8_t ipv6_max_extension_headers = 8;  // a longer chain is dropped
    std::uint8_t dad_transmits = 1;  // RFC 4862 §5.1 DupAddrDetectTransmits; 0 skips DAD
    duration nd_retrans_timer = std::chrono::seconds{1};  // RFC 4861 §10 RETRANS_TIMER
    duration nd_reachable_time = std::chrono::seconds{30};  // REACHABLE_TIME
    duration nd_delay_first_probe = std::chrono::seconds{5};  // DELAY_FIRST_PROBE_TIME
    std::uint8_t nd_max_multicast_solicit = 3;
    std::uint8_t nd_max_unicast_solicit = 3;
    std::uint16_t nd_max_entries = 256;
    std::uint16_t nd_max_pending = 64;  // packets waiting for resolution, all neighbors
    std::uint8_t nd_max_pending_per_address = 8;
    bool ipv6_send_router_solicitation = true;  // once DAD is done (RFC 4861 §6.3.7)
    // Fragment reassembly (RFC 8200 §4.5): buffers of 64 KiB allocated at start-up.
    std::uint16_t ipv6_reassembly_slots = 4;
    std::uint16_t ipv6_max_fragments = 64;  // per datagram
    duration ipv6_reassembly_timeout = std::chrono::seconds{60};

    /// Checks ranges and consistency; the message names the bad field.
    std::optional<std::string> validate() const;
};

/// A socket as the user holds it: a slot and a generation, never a pointer into the core.
struct socket_handle {
    std::uint32_t slot = ~0u;
    std::uint32_t generation = 0;
    bool valid() const noexcept { return slot != ~0u; }
    friend bool operator==(socket_handle, socket_handle) noexcept = default;
};

/// Readiness events for a socket, delivered to its waiter.
namespace socket_event {
constexpr std::uint8_t readable = 1;  // data, eof, error, or (listener) a connection to accept
constexpr std::uint8_t writable = 2;  // send space, or connect finished (check error)
constexpr std::uint8_t connected = 4;
constexpr std::uint8_t closed = 8;
}  // namespace socket_event

/// The edge's socket objects implement this to learn when to retry pending operations.
class socket_waiter {
public:
    virtual void on_socket_event(socket_handle h, std::uint8_t events) = 0;

protected:
    ~socket_waiter() = default;
};

struct datagram_info {
    std::size_t size = 0;  // bytes copied out
    std::size_t original_size = 0;  // datagram length; > size means it was truncated
    ip::endpoint from;
};

struct tcp_socket_info {
    tcp::state state = tcp::state::closed;
    ip::endpoint local;
    ip::endpoint remote;
    std::size_t recv_q = 0;
    std::size_t send_q = 0;
    /// Bytes of ring allocated now for this connection (0: none; they grow with demand).
    std::size_t send_buffer_bytes = 0;
    std::size_t receive_buffer_bytes = 0;
    /// The last soft ICMP error about this connection while it lives (RFC 1122 4.2.3.9, RFC 9293
    /// MUST-47): host_unreachable, or connection_refused for a port unreachable once
    /// synchronized. Cleared when an ACK makes progress; success when there is none.
    errc soft_error = errc::success;
};

struct stack_impl;

class stack {
public:
    stack(const stack_config& cfg, link::frame_sink& out);
    ~stack();
    stack(const stack&) = delete;
    stack& operator=(const stack&) = delete;

    /// One inbound Ethernet frame, borrowed for this call only. Malformed frames are counted and dropped.
    void receive(bytes frame, instant now);
    /// The same, for a frame whose link says more about it (a TAP with IFF_VNET_HDR, see
    /// link/offload.hpp): a TCP segment whose checksum is partial or already checked
    /// (off.l4_checksum_trusted()) is accepted without verifying it, and a GSO super-frame may
    /// exceed the MTU (up to 64 KiB). UDP and ICMP checksums are still verified: the edge
    /// completes partial ones (link::complete_partial_checksum) before calling this.
    void receive(bytes frame, instant now, const link::rx_offload& off);
    /// Fires due timers; returns the next deadline (nothing pending: nullopt).
    std::optional<instant> poll(instant now);

    const stack_config& config() const noexcept;
    const stack_stats& stats() const noexcept;
    /// Frames may be emitted from any call that takes `now`; this changes where they go.
    void set_output(link::frame_sink& out) noexcept;

    // --- UDP (RFC 768) ---
    result<socket_handle> udp_open();
    /// Port 0 picks an ephemeral port. The address is ours or the wildcard.
    errc udp_bind(socket_handle h, const ip::endpoint& local);
    /// Binds implicitly to an ephemeral port if unbound. Destination port 0 is invalid_argument.
    result<std::size_t> udp_send_to(socket_handle h, bytes payload, const ip::endpoint& to, instant now);
    /// would_block when the queue is empty.
    result<datagram_info> udp_receive_from(socket_handle h, mutable_bytes out);
    std::size_t udp_bytes_readable(socket_handle h) const noexcept;
    result<ip::endpoint> udp_local_endpoint(socket_handle h) const;
    void udp_close(socket_handle h);

    // --- TCP ---
    result<socket_handle> tcp_open();
    errc tcp_set_reuse_address(socket_handle h, bool on);
    errc tcp_bind(socket_handle h, const ip::endpoint& local);
    errc tcp_listen(socket_handle h, std::uint32_t backlog);
    /// would_block when no connection has completed its handshake yet.
    result<socket_handle> tcp_accept(socket_handle listener, instant now);
    /// Starts an active open (binds an ephemeral port if needed). Completion: a `connected` or
    /// `writable` event, then tcp_info()/tcp_error() tell the outcome.
    errc tcp_connect(socket_handle h, const ip::endpoint& remote, instant now);
    /// As many bytes as the send buffer takes. At the stack's buffer budget
    /// (tcp.max_buffer_memory) this is would_block, and the socket becomes writable once memory
    /// is freed anywhere: a send waits, it never fails for memory.
    result<std::size_t> tcp_send(socket_handle h, bytes data, instant now);
    /// Gather send: the pieces in order, in one call (what a scatter-gather write hands over), so
    /// that pieces written together leave together and Nagle does not hold the later ones.
    result<std::size_t> tcp_send(socket_handle h, std::span<const bytes> pieces, instant now);
    /// 0 bytes with success means eof.
    result<std::size_t> tcp_receive(socket_handle h, mutable_bytes out, instant now);
    errc tcp_shutdown_send(socket_handle h, instant now);
    /// Orderly close; the handle is invalid afterwards (the connection lingers in the core).
    void tcp_close(socket_handle h, instant now);
    /// RST and release.
    void tcp_abort(socket_handle h, instant now);
    errc tcp_set_no_delay(socket_handle h, bool on);
    /// SO_SNDBUF / SO_RCVBUF: fixes this socket's send or receive buffer at `size` bytes (at least one
    /// MSS) and turns off its autotuning in that direction, as Linux does. Before connect or
    /// listen (a listener passes them on to the connections it accepts) the receive size also
    /// chooses the window scale (RFC 7323 §2.3). Unset, a connection's buffers start small and
    /// follow demand up to tcp.send_buffer_size / tcp.receive_buffer_size.
    errc tcp_set_send_buffer_size(socket_handle h, std::size_t size);
    errc tcp_set_receive_buffer_size(socket_handle h, std::size_t size);
    /// The size set, or the stack's maximum when none was.
    result<std::size_t> tcp_send_buffer_size(socket_handle h) const;
    result<std::size_t> tcp_receive_buffer_size(socket_handle h) const;
    errc tcp_set_keep_alive(socket_handle h, bool on, instant now);
    /// RFC 9293 MUST-21 (§3.8.3 R2, RFC 5482 user timeout; Linux's TCP_USER_TIMEOUT): once
    /// sent data has gone unacknowledged this long the connection fails with timed_out, in
    /// place of the stack-wide tcp.max_retries. Zero restores the default. Needs a connection
    /// (after tcp_connect or tcp_accept), else not_connected; negative is invalid_argument.
    errc tcp_set_user_timeout(socket_handle h, duration timeout, instant now);
    /// The error that ended the connection, if any (success otherwise).
    errc tcp_error(socket_handle h) const noexcept;
    result<tcp_socket_info> tcp_info(socket_handle h) const;
    /// Every TCP socket and connection, for `ss -tan`-style listings.
    void for_each_tcp(const std::function<void(const tcp_socket_info&)>& fn) const;

    /// Registers who to tell when a socket's readiness changes (nullptr clears).
    void set_waiter(socket_handle h, socket_waiter* waiter) noexcept;

    // --- IPv6 ---
    /// IPV6_V6ONLY: a socket bound to the IPv6 wildcard also takes IPv4 unless this is set
    /// (Linux's default, net.ipv6.bindv6only=0). Set it before bind.
    errc tcp_set_v6_only(socket_handle h, bool on);
    errc udp_set_v6_only(socket_handle h, bool on);
    /// RFC 4862 §5.4: where duplicate address detection stands for one of our addresses.
    using address_state = ip::address_state;
    address_state ipv6_address_state(const ip::address_v6& a) const noexcept;
    /// Our link-local address (fe80::/64 from the MAC), unspecified when IPv6 is off.
    ip::address_v6 ipv6_link_local() const noexcept;
    /// The default router learnt from router advertisements, if any.
    std::optional<ip::address_v6> ipv6_default_router() const noexcept;

    /// Opaque: defined in stack/src/stack/stack_impl.hpp. A namespace-scope name, so that the
    /// layers' private headers can declare functions over it without including this header.
    using impl = stack_impl;

private:
    std::unique_ptr<impl> impl_;
};

/// The TCP table like `ss -tan`: State, Recv-Q, Send-Q, local and peer address, one row each.
std::string format_connections(const stack& s);

}  // namespace tapstack
