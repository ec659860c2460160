#pragma once
// Builds a tcp_pair whose chosen side is in any RFC 9293 state, by driving both connections with
// segments through their public interface only (open_active, shutdown_send, the pair's clock):
// nothing is poked into a connection, so a state reached here is one a peer can reach.
//
//   tcp_pair p{tcp_options{.mss = 1000, .sack = false}.config()};
//   ASSERT_TRUE(drive_to(p, side::a, state::fin_wait_2));
//
// What is left in flight: drive_to stops as soon as the side is in the state, so the segment that
// took it there may still be on the wire (SYN-SENT: the SYN; SYN-RECEIVED: the SYN,ACK; FIN-WAIT-1,
// LAST-ACK: the FIN). The other side is in the state RFC 9293 §3.5/§3.6 pairs with it (see
// drive_to). Tests that inject by hand cut the wire (deliver_a_to_b / deliver_b_to_a) afterwards.
// Through the whole stack instead, harness.hpp has listen_on() and handshake() (an ESTABLISHED
// connection accepted from the scripted peer).
#include <gtest/gtest.h>

#include "tcp_pair.hpp"

namespace tapstack::testing {

/// Options one side offers and the buffers it has (the rest of tcp::config keeps its defaults).
struct tcp_options {
    std::uint16_t mss = 1460;
    bool window_scaling = true;
    bool timestamps = true;
    bool sack = true;
    std::uint32_t send_buffer = 256 * 1024;
    std::uint32_t receive_buffer = 256 * 1024;
    /// `base` with these fields set (timers, limits and the rest as `base` has them).
    tcp::config config(tcp::config base = {}) const;
};

enum class side { a, b };  // a: 10.0.0.1:40000, the active opener; b: 10.0.0.2:80, the listener

inline tcp_endpoint& endpoint(tcp_pair& p, side s) { return s == side::a ? p.a() : p.b(); }
inline tcp_endpoint& other(tcp_pair& p, side s) { return s == side::a ? p.b() : p.a(); }

inline bool is(const tcp_endpoint& e, tcp::state s) { return e.conn.current_state() == s; }

/// `n` bytes of a deterministic pseudo-random stream named by `salt` (data for transfers).
std::vector<std::byte> pattern(std::size_t n, std::uint32_t salt);

/// a opens actively (ISS `iss_a`), b passively (`iss_b`); true once both are ESTABLISHED.
::testing::AssertionResult establish(tcp_pair& p, tcp::seq_number iss_a = tcp::seq_number{1000},
                                     tcp::seq_number iss_b = tcp::seq_number{5000});

/// Drives a fresh pair until side `who` is in `target`. The other side ends in:
///   SYN-SENT (a only)       b: CLOSED, listening, the SYN in flight
///   SYN-RECEIVED            who = b: a in SYN-SENT (passive open); who = a: both SYN-RECEIVED
///                           (simultaneous open, §3.5 figure 7)
///   ESTABLISHED             ESTABLISHED
///   FIN-WAIT-1              ESTABLISHED, our FIN in flight
///   FIN-WAIT-2              CLOSE-WAIT
///   CLOSING                 CLOSING or TIME-WAIT (both closed at once, §3.6 figure 13)
///   TIME-WAIT               LAST-ACK or CLOSED (its FIN acknowledged)
///   CLOSE-WAIT              FIN-WAIT-2
///   LAST-ACK                FIN-WAIT-2, our FIN in flight
/// LISTEN and CLOSED are not connection states a pair can be driven to (b listens until a SYN).
::testing::AssertionResult drive_to(tcp_pair& p, side who, tcp::state target);

}  // namespace tapstack::testing
