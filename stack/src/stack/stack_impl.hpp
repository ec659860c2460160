#pragma once
// The stack object's private state: one struct that composes the per-layer state (../ipv4/state.hpp,
// ../ipv6/state.hpp, ../socket/sockets.hpp). Its
// members are defined in stack.cpp and output.cpp here and in ../socket/*.cpp; the two address
// families are free functions over it (../ipv4/ipv4.hpp, ../ipv6/ipv6.hpp).
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <vector>
#include <tapstack/base/random.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/icmp.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/tcp.hpp>
#include "../ipv4/ipv4.hpp"
#include "../ipv6/ipv6.hpp"
#include "../socket/sockets.hpp"

namespace tapstack {

// ---------------------------------------------------------------- the stack
/// cfg.tcp with the MSS for a 40-byte IPv6 header (RFC 8200 §8.3: the MTU less 60).
inline tcp::config ipv6_tcp_config(const stack_config& cfg) {
    tcp::config c = cfg.tcp;
    c.mss = static_cast<std::uint16_t>(std::min<unsigned>(cfg.tcp.mss, cfg.mtu - 60u));
    return c;
}

struct stack_impl final : tcp::segment_sink, tcp::connection_observer {
    stack_impl(const stack_config& c, link::frame_sink& o);
    ~stack_impl();

    stack_config cfg;
    link::frame_sink* out;
    stack_stats stats;
    random_source rng;
    std::uint64_t isn_key[2]{};
    std::uint64_t port_key[2]{};
    instant now{};  // the latest time any entry point was given
    /// The instant a socket call acts at: the caller's `t`, or with cfg.deterministic the
    /// stack's own clock (the last frame received or timer due; see stack_config).
    instant call_instant(instant t) noexcept {
        if (!cfg.deterministic) now = t;
        return now;
    }

    std::vector<std::byte> tx;  // one outgoing frame is built here (a TSO super-frame when tcp.gso_max_bytes)
    // Offload (link/offload.hpp), set for the duration of one receive() / one send_segment().
    bool rx_l4_checksum_trusted = false;  // the frame's TCP checksum is partial or already checked
    std::uint16_t tx_gso_size = 0;  // the frame being built is a TSO super-segment of this MSS

    // IPv4: the ARP cache and its parked frames, the IP ID counter (../ipv4/)
    ipv4_state v4;

    // ICMP error token bucket, shared by ICMP and ICMPv6 (output.cpp)
    double icmp_tokens = 0;
    instant icmp_refill_at{};

    // RFC 5961 §7: one challenge ACK budget for every connection, IPv4 and IPv6
    tcp::challenge_ack_limiter challenge_acks;

    // sockets
    std::vector<socket_slot> slots;
    std::vector<std::uint32_t> free_slots;
    std::vector<std::uint32_t> event_queue;  // slots with pending_events, flushed at the end of a call
    bool flushing_events = false;
    port_table udp_ports;
    port_table tcp_ports;
    std::vector<std::uint16_t> port_perturbation;  // RFC 6056 algorithm 4's table
    std::uint64_t tuple_hash_key = 0;  // secret: peers cannot aim their tuples at one bucket
    std::vector<tuple_table::bucket_type> tuple_buckets;
    tuple_table connections;
    timer_set timers;
    std::vector<tcp_socket*> reap_queue;
    // Sockets whose send found the buffer budget used up (tcp_send returned would_block with no
    // ring to free room later): told writable once memory is back (wake_memory_waiters).
    std::vector<socket_handle> memory_waiters;
    std::uint64_t memory_waiters_seen_in_use = 0;
    void wake_memory_waiters();
    std::vector<tcp_socket*> listeners;  // few: a scan beats a table
    std::vector<tcp_socket*> due_timers;  // scratch for tcp_poll
    std::size_t tcp_socket_count = 0;  // every TCP socket, TIME-WAIT ones included
    // Orphans in TIME-WAIT, oldest first: apart from max_tcp_sockets, bounded by max_time_wait.
    time_wait_list time_waits;
    std::size_t time_wait_count = 0;  // sockets with in_time_wait_budget

    // IPv6: addresses, NDP, reassembly (../ipv6/)
    ipv6_state v6{cfg};
    tcp::config tcp_v6 = ipv6_tcp_config(cfg);

    // --- entry points (stack.cpp) ---
    void receive(bytes frame, instant t);
    /// Bytes of IP payload a TSO super-frame may carry (0: the MTU bounds every frame).
    std::size_t gso_ip_payload_limit() const noexcept;
    std::optional<instant> poll(instant t);

    // --- shared by both families (output.cpp) ---
    /// Sends one finished frame to the link, with the offload metadata it needs.
    void emit(bytes frame, instant t);
    bool icmp_error_allowed(instant t);

    // --- UDP (../socket/udp_sockets.cpp) ---
    void on_udp(const wire::ipv4_view& ip, instant t);
    /// Either family; false when no socket wants the datagram's port (the caller answers).
    bool on_udp(const ip::address& src, const ip::address& dst, bytes datagram, bool unicast, instant t);
    result<std::size_t> udp_send_v6(udp_socket& u, bytes payload, const ip::endpoint& to,
                                    instant t);  // ipv6_sockets.cpp

    // --- TCP sockets (../socket/tcp_sockets.cpp) ---
    void on_tcp(const wire::ipv4_view& ip, instant t);
    void on_tcp(const ip::address& src, const ip::address& dst, bytes segment, instant t);
    bool to_connection(const ip::four_tuple& tuple, const wire::tcp_segment& seg, instant t);
    /// A SYN the listener `parent` takes: a new connection in SYN-RECEIVED.
    void open_child(tcp_socket& parent, const ip::four_tuple& tuple, const wire::tcp_segment& seg, instant t);
    void send_reset_for(const ip::four_tuple& tuple, const wire::tcp_segment& seg, instant t);
    void send_segment(const ip::four_tuple& tuple, const wire::tcp_segment& seg) override;
    void send_segment_v6(const ip::four_tuple& tuple, const wire::tcp_segment& seg);  // ipv6_sockets.cpp
    void on_connection_event(tcp::connection& c, std::uint8_t events) override;
    void touch(tcp_socket& s);
    void reap(instant t);
    void release_tcp(tcp_socket& s);
    void apply_buffer_sizes(tcp_socket& s);  // the socket's SO_SNDBUF / SO_RCVBUF onto its connection
    tcp_socket* find_listener(const ip::address& local, ip::port_number port);
    void tcp_poll(instant t);
    tcp_socket* new_tcp_socket();
    /// An orphan that reached TIME-WAIT leaves the socket budget for the TIME-WAIT one.
    void note_time_wait(tcp_socket& s);
    /// A TIME-WAIT orphan on `tuple` that a new outgoing connection may replace (tcp_tw_reuse:
    /// timestamps were used, and it is at least 1 s old), or nullptr.
    tcp_socket* reusable_time_wait(const ip::four_tuple& tuple);
    tcp::seq_number make_isn(const ip::four_tuple& t, instant at) const;
    std::uint32_t make_ts_offset(const ip::four_tuple& t) const;

    // --- sockets common (../socket/sockets.cpp) ---
    result<std::uint32_t> allocate_slot(socket_kind kind);
    void free_slot(std::uint32_t slot);
    socket_slot* lookup(socket_handle h, socket_kind kind);
    const socket_slot* lookup(socket_handle h, socket_kind kind) const;
    socket_handle handle_of(std::uint32_t slot) const { return {slot, slots[slot].generation}; }
    void notify(std::uint32_t slot, std::uint8_t events);
    void flush_events();
    bool is_local_address(const ip::address& a) const;
    /// RFC 6056 algorithm 4; 0 when the range is exhausted for this destination.
    ip::port_number pick_ephemeral_tcp(const ip::address& local, const ip::endpoint& remote);
    ip::port_number pick_ephemeral_any(port_table& ports);
    bool evict_half_open(tcp_socket& listener, instant t);
    // SYN cookies (RFC 4987 §3.6), tcp_sockets.cpp
    std::uint32_t cookie_hash(const ip::four_tuple& t, tcp::seq_number irs, std::uint64_t count,
                              std::uint32_t mss_index) const;
    void send_syn_cookie(tcp_socket& listener, const ip::four_tuple& tuple, const wire::tcp_segment& syn, instant t);
    /// An ACK reached a listener: true when it was a valid cookie's (the connection now exists,
    /// or the ACK was dropped for lack of room), false when the caller answers with RST.
    bool accept_cookie(tcp_socket& listener, const ip::four_tuple& tuple, const wire::tcp_segment& ack, instant t);
    tcp_socket* new_child(tcp_socket& listener, const ip::four_tuple& tuple);
    errc check_bindable(ip::port_number port) const;
};

/// Runs flush_events() and reap() when the outermost entry point returns.
class call_scope {
public:
    explicit call_scope(stack::impl& s) noexcept : s_{s} {}
    ~call_scope();
    call_scope(const call_scope&) = delete;
    call_scope& operator=(const call_scope&) = delete;

private:
    stack::impl& s_;
};

/// Counts what a TCP connection made of an ICMP error (`Stats`: icmp_stats or icmpv6_stats).
template <class Stats>
void count_icmp_outcome(Stats& stats, tcp::icmp_outcome outcome) noexcept {
    switch (outcome) {
    case tcp::icmp_outcome::delivered: ++stats.in_tcp_errors; break;
    case tcp::icmp_outcome::out_of_window: ++stats.in_tcp_out_of_window; break;
    case tcp::icmp_outcome::ignored: break;
    }
}

}  // namespace tapstack
