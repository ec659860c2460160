#pragma once
// The inside of tapstack::tcp::connection: the RFC 9293 state machine, composed of parts that own
// their state. The connection keeps the state, the negotiated options and the glue; each part
// is a member by value (no allocation, no indirection on the packet path):
//   send_side        SND.*, send ring, Nagle, persist            (send_side.hpp)
//   receive_side     RCV.*, receive ring, reassembly, ACK policy (receive_side.hpp)
//   sack_scoreboard  the peer's SACK blocks, RFC 6675 estimates  (sack_scoreboard.hpp)
//   loss_recovery    dup ACKs, RFC 6582 recover, HighRxt         (loss_recovery.hpp)
//   timer_set        RTO, delayed ACK, persist, keepalive, 2MSL  (timers.hpp)
//   congestion_control                                           (tapstack/tcp/congestion.hpp)
// The member functions live in files by RFC section (docs/architecture.md, "TCP connection"):
// segment_arrives.cpp (§3.10.7), output.cpp (emission, §3.8.6), timers.cpp (§3.8), icmp.cpp
// (§3.9.2.2, RFC 5927, RFC 1191/8201), open_close.cpp (user calls, §3.10.1-§3.10.6) and
// connection.cpp (state changes, buffer memory, inspection).
#include <tapstack/tcp/connection.hpp>

#include <cstdint>
#include <tapstack/tcp/challenge_ack_limiter.hpp>
#include <tapstack/tcp/congestion.hpp>
#include <tapstack/tcp/rtt_estimator.hpp>

#include "loss_recovery.hpp"
#include "receive_side.hpp"
#include "sack_scoreboard.hpp"
#include "send_side.hpp"
#include "timers.hpp"

namespace tapstack::tcp {

namespace detail {
constexpr std::uint32_t u32(std::size_t v) noexcept { return static_cast<std::uint32_t>(v); }
/// a - b for a >= b in sequence space.
constexpr std::uint32_t dist(seq_number a, seq_number b) noexcept { return static_cast<std::uint32_t>(a - b); }
inline bool synchronized(state s) noexcept {
    return s != state::closed && s != state::listen && s != state::syn_sent && s != state::syn_received;
}
}  // namespace detail

struct connection::impl {
    impl(connection& s, const config& c, tcp_stats& counters, segment_sink& o, connection_observer& ob) noexcept
        : self{s},
          cfg{c},
          stats{counters},
          out{o},
          observer{ob},
          snd_max{c.send_buffer_size},
          rcv_max{c.receive_buffer_size} {
        rcv.memory_in_use = &counters.buffer_bytes_in_use;
        rcv.memory_budget = c.max_buffer_memory;
    }

    connection& self;
    const config& cfg;
    tcp_stats& stats;
    segment_sink& out;
    connection_observer& observer;

    state st = state::closed;
    error err = error::none;
    ip::four_tuple tuple{};
    std::uint8_t events = 0;

    // --- the parts ---
    send_side snd;
    receive_side rcv;
    sack_scoreboard scoreboard;  // SACKed ranges above snd.una (RFC 6675 §3)
    loss_recovery recovery;
    timer_set timers;
    newreno nr;
    congestion_control* cc = &nr;
    rtt_estimator rtt;

    bool app_closed = false;  // close(): the application reads no more

    // --- buffer sizes (connection.cpp, "buffer memory") ---
    // The most each ring may hold: config.send_buffer_size / receive_buffer_size, or the
    // socket's own size. A fixed size (set by the application) is allocated whole and does
    // not autotune.
    std::uint32_t snd_max, rcv_max;
    bool snd_fixed = false, rcv_fixed = false;

    // --- options (RFC 9293 §3.7.1, RFC 7323, RFC 2018) ---
    std::uint16_t peer_mss = 536;
    std::uint16_t smss = 536;
    bool ws_ok = false, ts_ok = false, sack_ok = false;
    std::uint32_t ts_offset = 0, ts_recent = 0;
    seq_number last_ack_sent;
    // The largest payload the path takes (RFC 1191 / RFC 8201 reports; 0: no report). Kept apart
    // from peer_mss so a report that arrives in SYN-SENT survives the peer's MSS option.
    std::uint16_t path_mss = 0;

    // --- RTT measurement without timestamps: Karn's one timed segment (RFC 6298 §3) ---
    bool rtt_timing = false;
    seq_number rtt_seq;
    instant rtt_sent{};
    instant syn_sent_at{};

    // RFC 9293 MUST-11: SYN-RECEIVED reached from LISTEN (passive) or from SYN-SENT (active).
    bool passive = false;
    // RFC 1122 4.2.3.9 / RFC 9293 MUST-56: the last soft ICMP error. It never ends the
    // connection; if a timeout does, it is what the application is told instead of timed_out
    // (Linux's sk_err_soft). An ACK that makes progress clears it ("something worked").
    error soft_err = error::none;

    // --- RFC 5961 §7 challenge ACK throttle: the stack's budget, or this connection's own
    // when it stands alone (connection::set_challenge_ack_limiter) ---
    challenge_ack_limiter own_challenge_limiter;
    challenge_ack_limiter* challenge_limiter = &own_challenge_limiter;

    std::uint64_t emitted = 0;  // segments sent, to tell whether an ACK was piggybacked
    std::uint32_t last_sent_len = 0;  // sequence space of the last send_data()

    // ================================================================ connection.cpp
    void reset_for_open(const ip::four_tuple& t, seq_number isn, std::uint32_t tsoff, instant now);
    /// A passive open's TCB from the peer's SYN, in SYN-RECEIVED (open_passive, open_from_cookie).
    void take_passive_syn(const ip::four_tuple& t, const wire::tcp_segment& syn, seq_number isn, std::uint32_t tsoff,
                          instant now);
    std::uint16_t default_peer_mss() const noexcept;
    void finish_negotiation();
    void apply_syn_options(const wire::tcp_segment& seg);
    std::uint32_t ts_now(instant now) const noexcept {
        return static_cast<std::uint32_t>(to_us(now) / 1000) + ts_offset;
    }
    void enter(state next, instant now);  // the only place st changes
    void arm_orphan_timer(instant now);
    bool can_send_data() const noexcept {
        return st == state::established || st == state::close_wait || st == state::fin_wait_1 || st == state::closing ||
            st == state::last_ack;
    }
    bool can_queue_data() const noexcept {
        return st == state::syn_sent || st == state::syn_received || st == state::established ||
            st == state::close_wait;
    }
    // buffer memory (see connection.cpp)
    std::size_t snd_initial() const noexcept {
        return snd_fixed ? snd_max : std::min<std::size_t>(cfg.send_buffer_initial, snd_max);
    }
    /// The receive ring's bound: the window bound plus round-up slack, and never less than what
    /// was already advertised (a size lowered after the SYN must not shrink the window).
    std::size_t rcv_ring_max() const noexcept {
        return std::max(rcv.capacity(), rcv.buf.size() + rcv.window() + (std::size_t{1} << rcv.wscale));
    }
    std::size_t rcv_initial() const noexcept {
        return rcv_fixed ? rcv_ring_max() : std::min<std::size_t>(cfg.receive_buffer_initial, rcv_ring_max());
    }
    /// Grows `r` (allocating it if it has none) to hold at least `need` bytes, doubling from its
    /// size (or `first`), at most `max`, within config.max_buffer_memory. False (counted as a
    /// refusal) when the budget does not allow `need`.
    bool grow_ring(ring_buffer& r, std::size_t need, std::size_t max, std::size_t first);
    /// Room for `n` more bytes of the application's in the send ring, growing it if the windows
    /// could use more; false when there is no ring and the budget refuses one.
    bool make_send_room(std::size_t n);
    /// The stack's buffers are nearly all in use: drained rings give their memory back.
    bool under_pressure() const noexcept { return stats.buffer_bytes_in_use * 4 >= cfg.max_buffer_memory * 3; }
    void release(ring_buffer& r) noexcept {
        if (r.capacity() == 0) return;
        stats.buffer_bytes_in_use -= r.capacity();
        r = ring_buffer{};
    }
    void release_if_done() noexcept {
        if (snd.buf.capacity() == 0 && rcv.buf.capacity() == 0) return;
        const bool pressed = under_pressure();
        if (snd.buf.empty() && (snd.fin_queued || st == state::closed || st == state::time_wait || pressed)) {
            if (pressed && snd.buf.capacity() != 0) ++stats.buffer_shrinks;
            release(snd.buf);
        }
        if (rcv.buf.empty() && rcv.ooo.empty() &&
            (rcv.fin_received || app_closed || st == state::closed || st == state::time_wait || pressed)) {
            if (pressed && rcv.buf.capacity() != 0) ++stats.buffer_shrinks;
            release(rcv.buf);
        }
    }
    void fail(error e, instant now);
    void flush_events() {
        release_if_done();  // every public entry point ends here
        while (events != 0) {
            const std::uint8_t e = events;
            events = 0;
            observer.on_connection_event(self, e);
        }
    }

    // Functions declared `inline` are defined in, and called only from, the one .cpp file that
    // holds their section: inline lets the compiler fold the per-segment steps back into their
    // caller, as it did when the whole connection was one class body in one file.

    // ================================================================ output.cpp
    inline wire::tcp_segment base_segment(instant now) noexcept;
    inline void note_ack_sent(const wire::tcp_segment& s) noexcept;
    // in_segs / out_segs / out_rsts are counted where segments meet the wire (the socket layer).
    void emit(const wire::tcp_segment& s) {
        ++emitted;
        out.send_segment(tuple, s);
    }
    void send_syn(instant now);
    void send_ack(instant now);
    void send_probe(instant now);
    void send_rst(seq_number seq, std::optional<seq_number> ack, instant now);
    void challenge_ack(instant now);
    inline std::uint32_t segment_limit(const wire::tcp_options& o) const noexcept;
    /// What send_new_segment knew when it offered a super-segment: the plain path's bounds.
    struct tso_room {
        std::uint32_t unsent = 0;  // SND.NXT to the end of the data
        std::uint32_t usable = 0;  // min(cwnd room, window room)
        bool nothing_out = false;  // SND.NXT == SND.UNA
    };
    inline std::uint32_t gso_length(seq_number seq, std::uint32_t len, std::uint32_t limit,
                                    const tso_room& room) const noexcept;
    void send_data(seq_number seq, std::uint32_t len, bool fin, instant now, const tso_room* tso = nullptr);
    inline void note_data_sent(seq_number seq, std::uint32_t len, seq_number end, instant now);
    void retransmit_from(seq_number seq, instant now);
    void output(instant now);
    inline void output_sack_recovery(instant now);
    inline bool send_new_segment(instant now, bool sack_recovery);
    std::uint32_t pipe() const noexcept { return scoreboard.pipe(snd.una, snd.max, recovery.high_rxt(), smss); }

    // ================================================================ segment_arrives.cpp
    /// The arrival state of one segment in a synchronized state, passed between the steps.
    struct arrival {
        bool ack_now = false;  // the ACK must go out at once
        bool fin_ack_may_wait = false;  // the ACK of a FIN may wait for the end of the batch
    };
    // SYN-SENT (RFC 9293 §3.10.7.3)
    inline void on_syn_sent(const wire::tcp_segment& seg, instant now);
    inline bool syn_sent_check_ack(const wire::tcp_segment& seg, instant now);
    inline bool syn_sent_check_reset(const wire::tcp_segment& seg, instant now);
    inline void syn_sent_on_syn_ack(const wire::tcp_segment& seg, instant now);
    inline void syn_sent_on_simultaneous_syn(const wire::tcp_segment& seg, instant now);
    // synchronized states (RFC 9293 §3.10.7.4)
    inline void on_synchronized(wire::tcp_segment seg, instant now);
    inline bool check_sequence(wire::tcp_segment& seg, instant now);
    inline bool paws_rejects(const wire::tcp_segment& seg, instant now);
    inline bool check_reset(const wire::tcp_segment& seg, instant now);
    static constexpr bool check_security(const wire::tcp_segment&) noexcept { return true; }
    inline bool check_syn(const wire::tcp_segment& seg, instant now);
    inline bool check_ack(const wire::tcp_segment& seg, instant now);
    inline bool ack_changes_state(const wire::tcp_segment& seg, instant now);
    static constexpr void check_urg(const wire::tcp_segment&) noexcept {}
    inline bool process_text(const wire::tcp_segment& seg, arrival& a, instant now);
    inline void check_fin(const wire::tcp_segment& seg, arrival& a, instant now);
    inline void finish_arrival(const arrival& a, instant now);
    // ACK processing (fifth check)
    inline bool process_ack(const wire::tcp_segment& seg, instant now);
    inline void on_ack_progress(const wire::tcp_segment& seg, instant now);
    inline void rtt_from_ack(const wire::tcp_segment& seg, instant now);
    inline void release_acked(seq_number ack);
    inline void on_duplicate_ack(const wire::tcp_segment& seg, bool newly_sacked, instant now);
    inline void rtt_sample(duration r);
    // text and FIN
    inline bool accept_data(seq_number seq, bytes payload, instant now);
    inline void maybe_delayed_ack(bool now_please, instant now);
    /// A delayed ACK due now: the stack's poll at this instant, after the batch of receive()
    /// calls and what the application did about them, sends it unless a segment carried it.
    void ack_at_end_of_batch(instant now) {
        if (!timers.dack || *timers.dack > now) timers.dack = now;
    }
    inline void process_fin(instant now);

    // ================================================================ icmp.cpp
    /// RFC 5927 §4.1: an ICMP error is believed only if the segment it quotes could be one of
    /// ours still in flight, SND.UNA =< SEG.SEQ < SND.NXT. Our snd.nxt walks back after a
    /// timeout, so the bound is snd.max, the highest sequence number sent (Linux's snd_nxt).
    bool quote_in_window(seq_number quoted) const noexcept { return seq_in_range(quoted, snd.una, snd.max); }
    bool icmp_applies() const noexcept { return st != state::closed && st != state::listen && st != state::time_wait; }
    bool lower_path_mss(std::uint16_t mss) noexcept;
    void resend_after_mtu_drop(instant now);

    // ================================================================ timers.cpp
    void on_rto(instant now);
    void on_syn_rto(instant now);
    void note_r1();
    bool r2_reached(instant since, std::uint32_t sent, instant now);
    void on_persist(instant now);
    void on_keepalive(instant now);
};

}  // namespace tapstack::tcp
