#pragma once
// The stack's private state. One struct, split by concern across the .cpp files next to it:
// stack.cpp (dispatch, poll), arp.cpp, ipv4_output.cpp, icmp.cpp, ../socket/*.cpp.
#include <array>
#include <memory>
#include <optional>
#include <vector>
#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>
#include <boost/intrusive/unordered_set.hpp>
#include <tapstack/base/random.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/icmp.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/tcp.hpp>
#include "../socket/port_table.hpp"
#include "ipv6_state.hpp"

namespace tapstack {

namespace bi = boost::intrusive;

// ---------------------------------------------------------------- ARP
struct arp_entry {
    ip::address_v4 address;
    link::mac_address mac;
    bool resolved = false;
    bool in_use = false;
    instant expires_at{};  // resolved: when to stop trusting it
    instant next_retry_at{};  // unresolved: when to ask again
    std::uint8_t retries = 0;
    std::uint8_t pending_count = 0;
};

/// A frame waiting for ARP: complete but for the destination MAC.
struct pending_frame {
    std::uint16_t entry = 0;  // index into arp_cache::entries
    std::uint16_t length = 0;
    bool in_use = false;
    std::vector<std::byte> bytes;  // mtu + 14, allocated once at start-up
};

// ---------------------------------------------------------------- sockets
enum class socket_kind : std::uint8_t { free, udp, tcp };

struct datagram_record {
    ip::endpoint from;
    std::uint32_t offset = 0;  // into the socket's ring
    std::uint32_t length = 0;
};

struct udp_socket {
    ip::endpoint local;
    bool bound = false;
    port_binding binding;
    // A byte ring and a record ring, sized at bind time; each datagram is stored contiguously.
    std::vector<std::byte> ring;
    std::uint32_t ring_head = 0;  // next write
    std::uint32_t ring_used = 0;  // bytes from the oldest record to ring_head, wasted tail included
    std::vector<datagram_record> records;
    std::uint32_t record_head = 0;
    std::uint32_t record_count = 0;
};

enum class tcp_role : std::uint8_t { fresh, bound, listener, connection };

struct tcp_socket;

struct tuple_key_of {
    using type = ip::four_tuple;
    const type& operator()(const tcp_socket& s) const noexcept;
};
/// Keyed with the stack's secret (derived from its seed, so a replay hashes alike).
struct tuple_hash {
    const std::uint64_t* key;
    std::size_t operator()(const ip::four_tuple& t) const noexcept { return ip::hash_value(t, *key); }
};
struct deadline_key_of {
    using type = instant;
    const type& operator()(const tcp_socket& s) const noexcept;
};

using unordered_hook = bi::unordered_set_member_hook<bi::link_mode<bi::safe_link>>;
using list_hook = bi::list_member_hook<bi::link_mode<bi::safe_link>>;
using set_hook = bi::set_member_hook<bi::link_mode<bi::safe_link>>;

struct tcp_socket {
    tcp_role role = tcp_role::fresh;
    ip::endpoint local;
    bool reuse_address = false;
    bool no_delay = false;
    // SO_SNDBUF / SO_RCVBUF set by the application (0: the stack's, autotuned); inherited by
    // accepted connections from their listener.
    std::uint32_t send_buffer = 0, receive_buffer = 0;
    bool memory_waiting = false;  // in stack::impl::memory_waiters
    bool user_owned = true;  // the application holds a handle to it
    errc error = errc::success;  // what ended it, reported to the application
    std::uint32_t slot = 0;

    port_binding binding;  // in the port table while bound

    // connection
    // In the socket, not behind a pointer of its own: the demux goes socket -> connection state
    // with one miss fewer per segment when the connection is cold (memory_bench demux).
    std::optional<tcp::connection> conn;
    tcp_socket* parent = nullptr;  // listener, until accepted
    unordered_hook tuple_hook;  // in the 4-tuple table while it has a connection
    ip::four_tuple tuple{};  // conn->tuple(), kept beside the hook: a lookup compares it
        // without two more pointer hops (and cache misses) into conn
    set_hook timer_hook;  // in the timer set while deadline is set
    instant deadline{};
    bool reap_queued = false;

    // listener
    std::uint32_t backlog = 0;
    std::uint32_t half_open = 0;
    list_hook accept_hook;  // in the parent's accept queue when established, not accepted
    bi::list<tcp_socket, bi::member_hook<tcp_socket, list_hook, &tcp_socket::accept_hook>> accept_queue;
};

inline const ip::four_tuple& tuple_key_of::operator()(const tcp_socket& s) const noexcept { return s.tuple; }
inline const instant& deadline_key_of::operator()(const tcp_socket& s) const noexcept { return s.deadline; }

using tuple_table = bi::unordered_set<tcp_socket, bi::member_hook<tcp_socket, unordered_hook, &tcp_socket::tuple_hook>,
                                      bi::key_of_value<tuple_key_of>, bi::hash<tuple_hash>, bi::power_2_buckets<true>,
                                      bi::constant_time_size<true>>;
using timer_set = bi::multiset<tcp_socket, bi::member_hook<tcp_socket, set_hook, &tcp_socket::timer_hook>,
                               bi::key_of_value<deadline_key_of>>;

struct socket_slot {
    socket_kind kind = socket_kind::free;
    std::uint32_t generation = 1;
    socket_waiter* waiter = nullptr;
    std::uint8_t pending_events = 0;
    std::unique_ptr<udp_socket> udp;
    std::unique_ptr<tcp_socket> tcp;
};

// ---------------------------------------------------------------- the stack
struct stack::impl final : tcp::segment_sink, tcp::connection_observer {
    impl(const stack_config& c, link::frame_sink& o);
    ~impl();

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
    std::uint16_t next_ip_id = 0;
    // Offload (link/offload.hpp), set for the duration of one receive() / one send_segment().
    bool rx_l4_checksum_trusted = false;  // the frame's TCP checksum is partial or already checked
    std::uint16_t tx_gso_size = 0;  // the frame being built is a TSO super-segment of this MSS

    // ARP
    std::vector<arp_entry> arp_entries;
    std::vector<pending_frame> pending;
    std::uint16_t arp_last_hit = 0;
    std::uint16_t arp_unresolved = 0;  // entries waiting for a reply: poll skips the scan at 0

    // ICMP error token bucket
    double icmp_tokens = 0;
    instant icmp_refill_at{};

    // challenge ACK limiter shared by every connection (RFC 5961 §7) lives in tcp::connection

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
    std::size_t tcp_socket_count = 0;

    // IPv6: addresses, NDP, reassembly (ipv6*.cpp, ndp.cpp, icmpv6.cpp, reassembly6.cpp)
    ipv6_state v6{cfg};

    // --- entry points (stack.cpp) ---
    void receive(bytes frame, instant t);
    /// Bytes of IP payload a TSO super-frame may carry (0: the MTU bounds every frame).
    std::size_t gso_ip_payload_limit() const noexcept;
    std::optional<instant> poll(instant t);

    // --- link and ARP (arp.cpp) ---
    void on_arp(bytes packet, instant t);
    /// Finds or creates the cache entry; nullptr when the cache is full of unresolved entries.
    arp_entry* arp_lookup(ip::address_v4 a);
    void arp_learn(ip::address_v4 a, const link::mac_address& mac, instant t, bool create);
    void arp_send_request(ip::address_v4 target, instant t);
    void arp_poll(instant t);
    /// RFC 1122 2.3.2.1 higher-layer advice (TCP's R1, RFC 9293 MUST-20): revalidate the next
    /// hop towards `dst` with a unicast request while its entry stays in use.
    void arp_negative_advice(ip::address_v4 dst, instant t);
    std::optional<instant> arp_deadline() const;

    // --- IPv4 output (ipv4_output.cpp) ---
    /// Builds Ethernet + IPv4 around a payload the writer fills, and sends it (or parks it for ARP).
    /// `write_payload(span)` must fill exactly payload_size bytes. Returns false when unroutable.
    template <class Writer>
    bool send_ipv4(ip::address_v4 dst, std::uint8_t protocol, std::size_t payload_size, instant t,
                   Writer&& write_payload);
    mutable_bytes begin_ipv4(ip::address_v4 dst, std::uint8_t protocol, std::size_t payload_size);
    bool finish_ipv4(ip::address_v4 dst, std::size_t payload_size, instant t);
    void emit(bytes frame, instant t);

    // --- ICMP (icmp.cpp) ---
    void on_icmp(const wire::ipv4_view& ip, instant t);
    /// Destination unreachable quoting the offending datagram (RFC 792, RFC 1122 3.2.2).
    void send_unreachable(const wire::ipv4_view& offending, wire::icmp_unreachable_code code, instant t);
    bool icmp_error_allowed(instant t);

    // --- UDP (../socket/udp.cpp) ---
    void on_udp(const wire::ipv4_view& ip, instant t);
    /// Either family; false when no socket wants the datagram's port (the caller answers).
    bool on_udp(const ip::address& src, const ip::address& dst, bytes datagram, bool unicast, instant t);
    result<std::size_t> udp_send_v6(udp_socket& u, bytes payload, const ip::endpoint& to,
                                    instant t);  // ipv6_sockets.cpp

    // --- TCP sockets (../socket/tcp_sockets.cpp) ---
    void on_tcp(const wire::ipv4_view& ip, instant t);
    void on_tcp(const ip::address& src, const ip::address& dst, bytes segment, instant t);
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

template <class Writer>
bool stack::impl::send_ipv4(ip::address_v4 dst, std::uint8_t protocol, std::size_t payload_size, instant t,
                            Writer&& write_payload) {
    auto payload = begin_ipv4(dst, protocol, payload_size);
    if (payload.empty() && payload_size != 0) return false;
    write_payload(payload);
    return finish_ipv4(dst, payload_size, t);
}

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
