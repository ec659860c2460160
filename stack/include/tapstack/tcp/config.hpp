#pragma once
#include <chrono>
#include <cstdint>
#include <tapstack/base/time.hpp>

namespace tapstack::tcp {

using namespace std::chrono_literals;

/// The smallest peer MSS honoured as sent (Linux's TCP_MIN_SND_MSS); a smaller one is raised
/// to it. RFC 9293 MUST-16: a segment never exceeds the peer's MSS + 20 bytes, options included.
inline constexpr std::uint16_t min_peer_mss = 48;

struct config {
    /// The most a connection's send and receive rings may hold (per connection, per direction).
    /// The rings start at the *_initial sizes and grow, doubling, as the connection needs them
    /// (Linux's tcp_wmem / tcp_rmem maximum): the receive ring as data arrives within the window,
    /// the send ring as the application writes more than fits while the congestion and peer
    /// windows could use more. The window we advertise, and its scale (RFC 7323 §2.3), are
    /// those of receive_buffer_size from the SYN on. A socket's send_buffer_size /
    /// receive_buffer_size option replaces these for that socket and fixes its ring size.
    std::uint32_t send_buffer_size = 256 * 1024;
    std::uint32_t receive_buffer_size = 256 * 1024;
    /// Where the rings start (at most the maximum above).
    std::uint32_t send_buffer_initial = 4 * 1024;
    std::uint32_t receive_buffer_initial = 4 * 1024;
    /// Our MSS, from the link MTU (1500 - 20 - 20).
    std::uint16_t mss = 1460;
    /// Assumed when an IPv4 peer sends no MSS option (RFC 9293 §3.7.1 MUST-15, RFC 1122 4.2.2.6).
    std::uint16_t default_peer_mss = 536;
    /// Assumed when an IPv6 peer sends no MSS option: RFC 9293 §3.7.1 MUST-15, the 1280-byte
    /// minimum MTU of RFC 8200 §5 less 40 + 20 header bytes.
    std::uint16_t default_peer_mss_v6 = 1220;
    bool window_scaling = true;  // RFC 7323
    bool timestamps = true;  // RFC 7323
    bool sack = true;  // RFC 2018
    bool nagle = true;  // RFC 896 / RFC 1122 4.2.3.4
    /// RFC 1122 4.2.3.2: less than 0.5 s; Linux uses 40 ms minimum. RFC 5681 §4.2: at most 500 ms.
    duration delayed_ack = 40ms;
    /// Full-sized segments that may arrive in one batch (one wakeup of the link) before an ACK
    /// goes out at once; below this, a batch's second segment makes an ACK due at the batch's
    /// end, one ACK for the burst. 2 is RFC 5681 §4.2's strict "every second segment".
    std::uint32_t stretch_ack_segments = 16;
    duration msl = 30s;  // TIME-WAIT lasts 2*MSL (RFC 9293 §3.4.2)
    duration initial_rto = 1s;  // RFC 6298 §2.1
    duration min_rto = 200ms;  // Linux's floor; RFC 6298 says 1 s SHOULD, allowed lower
    duration max_rto = 60s;  // RFC 6298 §2.5
    std::uint8_t max_retries = 12;  // data retransmissions before timed_out (RFC 1122 R2)
    /// R2 for an orphan (closed by the application, so nobody waits on it): a peer that
    /// vanished must not hold a connection for max_retries backed-off RTOs (up to 13 minutes).
    /// Like Linux's tcp_orphan_retries (its default 0 means 8). Also bounds unanswered
    /// zero-window probes of an orphan. Never more than max_retries.
    std::uint8_t max_orphan_retries = 8;
    /// RFC 1122 4.2.3.5 R1 (RFC 9293 MUST-20, SHLD-10: "at least 3 retransmissions"): after
    /// this many retransmissions of one segment the connection gives the IP layer negative
    /// advice (connection_observer::retransmit_trouble). 0 never does.
    std::uint8_t r1_retries = 3;
    // RFC 9293 MUST-23 (RFC 1122 4.2.3.5): keep trying to open for at least 3 minutes:
    // 1+2+4+8+16+32+60 s of backed-off RTOs, then one more max_rto, is 183 s.
    std::uint8_t max_syn_retries = 7;  // SYN retransmissions before timed_out
    duration keepalive_idle = 7200s;  // RFC 1122 4.2.3.6: no less than two hours by default
    duration keepalive_interval = 75s;
    std::uint8_t keepalive_probes = 9;
    /// An orphaned FIN-WAIT-2 (closed by the application, the peer never sends FIN) is dropped
    /// after this long (Linux: tcp_fin_timeout, 60 s). 0 waits forever, as RFC 9293 allows.
    duration fin_wait_2_timeout = 60s;
    /// Send and receive rings of all connections together, bytes (the stack shares one budget:
    /// set it as stack_config::tcp.max_buffer_memory). Rings are allocated on first use and grow
    /// with demand, so handshaking and idle connections cost nothing here. At the bound nothing
    /// fails: a send waits (would_block, writable once memory is freed anywhere), the receive
    /// window stops opening (its right edge never moves left), data that does not fit the ring
    /// is dropped as if lost (counted in tcp_stats; the peer retransmits), and drained rings
    /// give their memory back.
    std::uint64_t max_buffer_memory = 128ull * 1024 * 1024;
    /// Out-of-order bytes held per connection before new ones are dropped.
    std::uint32_t max_out_of_order_bytes = 256 * 1024;
    /// RFC 5961 §7: challenge ACKs per second per stack.
    std::uint32_t challenge_ack_limit = 1000;
    /// Initial window in segments (RFC 6928: min(10*MSS, max(2*MSS, 14600))).
    std::uint32_t initial_window_segments = 10;
    /// TCP segmentation offload (issue #7): when the link cuts super-segments itself (a TAP with
    /// TUNSETOFFLOAD, see link/offload.hpp), new data may leave as one segment of up to this many
    /// payload bytes, cut by the link into MSS-sized ones (at most link::max_gso_payload).
    /// Retransmissions stay MSS-sized. 0: off, every segment is at most one MSS.
    std::uint32_t gso_max_bytes = 0;
};

}  // namespace tapstack::tcp
