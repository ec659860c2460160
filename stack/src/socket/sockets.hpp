#pragma once
// The socket layer's state: socket slots, UDP and TCP sockets, the 4-tuple table and the timer
// set that demultiplex to them. The stack object (../stack/stack_impl.hpp) holds the tables;
// its socket members are defined in sockets.cpp, udp_sockets.cpp, tcp_sockets.cpp and
// ipv6_sockets.cpp.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>
#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>
#include <boost/intrusive/unordered_set.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/errc.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/tcp/connection.hpp>
#include "port_table.hpp"

namespace tapstack {

class socket_waiter;  // tapstack/stack.hpp

namespace bi = boost::intrusive;

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
    list_hook time_wait_hook;  // in the stack's TIME-WAIT list: an orphan in TIME-WAIT
    instant time_wait_since{};  // when it joined that list
    bool in_time_wait_budget = false;  // counted in time_wait_count, not against max_tcp_sockets
    set_hook timer_hook;  // in the timer set while deadline is set
    instant deadline{};
    bool reap_queued = false;

    // listener
    std::uint32_t backlog = 0;
    std::uint32_t half_open = 0;
    instant cookie_sent_at{};  // the last SYN cookie this listener sent
    bool cookies_sent = false;  // ... if any: only then are ACKs checked against cookies
    list_hook accept_hook;  // in the parent's accept queue when established, not accepted
    bi::list<tcp_socket, bi::member_hook<tcp_socket, list_hook, &tcp_socket::accept_hook>> accept_queue;
};

inline const ip::four_tuple& tuple_key_of::operator()(const tcp_socket& s) const noexcept { return s.tuple; }
inline const instant& deadline_key_of::operator()(const tcp_socket& s) const noexcept { return s.deadline; }

using tuple_table = bi::unordered_set<tcp_socket, bi::member_hook<tcp_socket, unordered_hook, &tcp_socket::tuple_hook>,
                                      bi::key_of_value<tuple_key_of>, bi::hash<tuple_hash>, bi::power_2_buckets<true>,
                                      bi::constant_time_size<true>>;
using time_wait_list = bi::list<tcp_socket, bi::member_hook<tcp_socket, list_hook, &tcp_socket::time_wait_hook>>;
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

}  // namespace tapstack
