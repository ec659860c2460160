#pragma once
#include <cstdint>

namespace tapstack::tcp {

/// MIB-style counters (RFC 4022 names where one exists), plus our own drop reasons.
struct tcp_stats {
    std::uint64_t active_opens = 0;
    std::uint64_t passive_opens = 0;
    std::uint64_t attempt_fails = 0;
    std::uint64_t estab_resets = 0;
    std::uint64_t in_segs = 0;
    std::uint64_t out_segs = 0;
    std::uint64_t retrans_segs = 0;
    std::uint64_t in_errs = 0;  // bad checksum or header
    std::uint64_t out_rsts = 0;
    std::uint64_t in_rsts = 0;
    std::uint64_t fast_retransmits = 0;
    std::uint64_t timeouts = 0;  // RTO expirations
    std::uint64_t out_of_order_segs = 0;
    std::uint64_t out_of_order_drops = 0;  // held bytes bound reached
    std::uint64_t duplicate_segs = 0;
    std::uint64_t challenge_acks = 0;
    std::uint64_t challenge_acks_suppressed = 0;
    std::uint64_t in_window_drops = 0;  // not acceptable (RFC 9293 §3.10.7.4 first check)
    std::uint64_t paws_drops = 0;
    std::uint64_t zero_window_probes = 0;
    std::uint64_t keepalive_probes = 0;
    std::uint64_t connections_timed_out = 0;
    std::uint64_t connections_aborted = 0;
    std::uint64_t delayed_acks = 0;
    std::uint64_t sack_recoveries = 0;
    std::uint64_t port_zero_drops = 0;
    std::uint64_t no_listener_rsts = 0;
    std::uint64_t syn_backlog_drops = 0;
    std::uint64_t accept_queue_drops = 0;
    std::uint64_t connection_limit_drops = 0;
    std::uint64_t time_wait_reuses = 0;  // a SYN ended TIME-WAIT (RFC 6191)
    std::uint64_t time_wait_connect_reuses = 0;  // a connect took over its own TIME-WAIT 4-tuple
    std::uint64_t time_wait_overflows = 0;  // the oldest TIME-WAIT dropped: max_time_wait reached
    // Connection-level extras (tcp/connection.cpp)
    std::uint64_t syn_retransmits = 0;
    std::uint64_t sack_retransmits = 0;  // retransmissions chosen from the SACK scoreboard
    std::uint64_t dup_acks_in = 0;
    std::uint64_t rtt_samples = 0;
    std::uint64_t window_updates = 0;  // ACKs sent because the application read
    std::uint64_t ack_unacceptable = 0;  // RFC 5961 §5 ACK outside the window
    std::uint64_t data_after_close_rsts = 0;  // RFC 1122 4.2.2.13
    // Resource bounds and abandoned peers (hardening)
    std::uint64_t buffer_bytes_in_use = 0;  // a gauge: send+receive ring bytes allocated now
    std::uint64_t buffer_bytes_peak = 0;  // the most buffer_bytes_in_use ever was (never above the budget)
    std::uint64_t buffer_memory_refusals = 0;  // a ring not allocated: config.max_buffer_memory reached
    std::uint64_t buffer_memory_waits = 0;  // a send waited for memory (would_block, writable later)
    std::uint64_t buffer_grows = 0;  // a ring grew to follow its connection's demand
    std::uint64_t buffer_shrinks = 0;  // a drained ring gave memory back (budget nearly used)
    std::uint64_t buffer_memory_drops = 0;  // data segments dropped for that reason
    std::uint64_t fin_wait_2_timeouts = 0;
    std::uint64_t negative_advice = 0;  // R1 reached: the IP layer was told (RFC 9293 MUST-20)
    std::uint64_t user_timeouts = 0;  // connections failed by their per-connection R2 (MUST-21)
    std::uint64_t syn_backlog_evictions = 0;  // half-open connections dropped to admit a SYN (random drop)
    // SYN cookies (RFC 4987 §3.6, stack_config::syn_cookies)
    std::uint64_t syn_cookies_sent = 0;  // SYN-ACKs carrying a cookie: the SYN backlog was full
    std::uint64_t syn_cookies_validated = 0;  // third-step ACKs whose cookie held: connection made
    std::uint64_t syn_cookies_failed = 0;  // ACKs to a listener that matched no cookie (answered with RST)
};

}  // namespace tapstack::tcp
