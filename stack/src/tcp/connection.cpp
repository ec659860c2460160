// The TCP connection state machine (RFC 9293), with RFC 6298 retransmission, RFC 5681/6582/6675
// congestion and loss recovery, RFC 7323 window scaling/timestamps/PAWS, RFC 2018 SACK and the
// RFC 5961 hardening. Sans-I/O: `now` comes in, segments leave through the segment_sink.
#include <tapstack/tcp/connection.hpp>

#include <algorithm>
#include <cassert>
#include <memory>
#include <tapstack/link/offload.hpp>
#include <tapstack/tcp/congestion.hpp>
#include <tapstack/tcp/range_set.hpp>
#include <tapstack/tcp/ring_buffer.hpp>
#include <tapstack/tcp/rtt_estimator.hpp>

namespace tapstack::tcp {

std::string_view to_string(state s) noexcept {
    switch (s) {
    case state::closed: return "CLOSED";
    case state::listen: return "LISTEN";
    case state::syn_sent: return "SYN-SENT";
    case state::syn_received: return "SYN-RECEIVED";
    case state::established: return "ESTABLISHED";
    case state::fin_wait_1: return "FIN-WAIT-1";
    case state::fin_wait_2: return "FIN-WAIT-2";
    case state::close_wait: return "CLOSE-WAIT";
    case state::closing: return "CLOSING";
    case state::last_ack: return "LAST-ACK";
    case state::time_wait: return "TIME-WAIT";
    }
    return "?";
}

std::string_view to_string(error e) noexcept {
    switch (e) {
    case error::none: return "none";
    case error::connection_refused: return "connection refused";
    case error::connection_reset: return "connection reset";
    case error::timed_out: return "timed out";
    case error::connection_aborted: return "connection aborted";
    case error::host_unreachable: return "host unreachable";
    }
    return "?";
}

namespace {

using ev = connection_observer;

constexpr std::uint32_t u32(std::size_t v) noexcept { return static_cast<std::uint32_t>(v); }
/// a - b for a >= b in sequence space.
constexpr std::uint32_t dist(seq_number a, seq_number b) noexcept { return static_cast<std::uint32_t>(a - b); }

/// Upper bound of the options area, each option padded to 4 bytes on its own (the encoder may pack
/// tighter): used to keep header + payload within the peer's MSS + 40.
std::uint32_t options_bound(const wire::tcp_options& o) noexcept {
    std::uint32_t n = 0;
    if (o.mss) n += 4;
    if (o.window_scale) n += 4;
    if (o.sack_permitted) n += 4;
    if (o.timestamps) n += 12;
    if (o.sack_count) n += 4 + 8u * o.sack_count;
    return n;
}

bool synchronized(state s) noexcept {
    return s != state::closed && s != state::listen && s != state::syn_sent && s != state::syn_received;
}

}  // namespace

struct connection::impl {
    impl(connection& s, const config& c, tcp_stats& counters, segment_sink& o, connection_observer& ob) noexcept
        : self{s}, cfg{c}, stats{counters}, out{o}, observer{ob} {}

    connection& self;
    const config& cfg;
    tcp_stats& stats;
    segment_sink& out;
    connection_observer& observer;

    state st = state::closed;
    error err = error::none;
    ip::four_tuple tuple{};
    std::uint8_t events = 0;

    // --- send sequence space (RFC 9293 §3.3.1); snd_max is the highest ever sent ---
    seq_number iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
    std::uint32_t snd_wnd = 0, max_snd_wnd = 0;
    seq_number snd_buf_seq;  // sequence number of the send ring's first byte
    ring_buffer sndbuf;
    std::unique_ptr<std::byte[]> scratch;  // one segment's payload when the ring wraps
    std::size_t scratch_size = 0;
    bool fin_queued = false;  // the application shut down sending: FIN follows the data

    // --- receive sequence space ---
    seq_number irs, rcv_nxt, rcv_adv;  // rcv_adv: right edge last advertised (never moves left)
    ring_buffer rcvbuf;
    std::uint32_t rcv_limit = 0;  // receive window bound (the ring has slack for scaling round-up)
    range_set<16> ooo;
    std::uint64_t ooo_stamp = 0;
    std::optional<seq_number> ooo_fin;
    bool fin_received = false;
    bool app_closed = false;  // close(): the application reads no more
    std::uint32_t rcv_unacked = 0;  // bytes received since our last ACK
    std::uint32_t rcv_seg_est = 536;  // largest segment seen: what "full-sized" means inbound

    // --- options ---
    std::uint16_t peer_mss = 536;
    std::uint16_t smss = 536;
    std::uint8_t snd_wscale = 0, rcv_wscale = 0;
    bool ws_ok = false, ts_ok = false, sack_ok = false;
    std::uint32_t ts_offset = 0, ts_recent = 0;
    seq_number last_ack_sent;

    // --- congestion and loss recovery ---
    newreno nr;
    congestion_control* cc = &nr;
    rtt_estimator rtt;
    bool in_recovery = false;
    seq_number recover, high_rxt;
    std::uint32_t dupacks = 0;
    range_set<32> scoreboard;  // SACKed ranges above snd_una (RFC 6675 §3)
    bool rtt_timing = false;  // Karn: one timed segment when there are no timestamps
    seq_number rtt_seq;
    instant rtt_sent{};

    // --- timers (data, RFC 9293 §3.8) ---
    std::optional<instant> rto_at, dack_at, persist_at, keepalive_at, time_wait_at;
    std::uint32_t retries = 0;
    duration persist_interval{};
    // Zero-window probes sent since the peer last sent an ACK; RFC 9293 MUST-26 lets the
    // connection close only when probes go unanswered, never for a long zero window alone.
    std::uint32_t probes_unanswered = 0;
    instant probe_base{};  // when the first unanswered probe went out (for the user timeout)
    std::uint32_t keepalive_sent = 0;
    bool keepalive_on = false;
    bool nodelay = false;
    // RFC 9293 MUST-21: per-connection R2 as a user timeout (RFC 5482); zero: cfg.max_retries.
    // rto_base is when the current stretch without an advancing ACK began (data sent with
    // nothing outstanding, or the last ACK that moved SND.UNA).
    duration user_timeout{};
    instant rto_base{};
    // RFC 9293 MUST-11: SYN-RECEIVED reached from LISTEN (passive) or from SYN-SENT (active).
    bool passive = false;
    // RFC 1122 4.2.3.9 / RFC 9293 MUST-56: the last soft ICMP error. It never ends the
    // connection; if a timeout does, it is what the application is told instead of timed_out
    // (Linux's sk_err_soft). An ACK that makes progress clears it ("something worked").
    error soft_err = error::none;
    // The largest payload the path takes (RFC 1191 / RFC 8201 reports; 0: no report). Kept apart
    // from peer_mss so a report that arrives in SYN-SENT survives the peer's MSS option.
    std::uint16_t path_mss = 0;

    // --- RFC 5961 §7 challenge ACK throttle ---
    instant challenge_window{};
    std::uint32_t challenge_count = 0;

    // ================================================================ helpers
    void reset_for_open(const ip::four_tuple& t, seq_number isn, std::uint32_t tsoff, instant now) {
        st = state::closed;
        err = error::none;
        tuple = t;
        events = 0;
        iss = snd_una = snd_nxt = snd_max = isn;
        snd_wl1 = snd_wl2 = seq_number{};
        snd_wnd = max_snd_wnd = 0;
        snd_buf_seq = isn + 1;
        release(sndbuf);  // allocated on the first send(), see acquire()
        release(rcvbuf);  // allocated when the first byte of data arrives
        if (scratch_size != cfg.mss) {
            scratch = std::make_unique<std::byte[]>(cfg.mss);
            scratch_size = cfg.mss;
        }
        fin_queued = false;
        irs = rcv_nxt = rcv_adv = seq_number{};
        ooo.clear();
        ooo_stamp = 0;
        ooo_fin.reset();
        fin_received = app_closed = false;
        rcv_unacked = 0;
        rcv_seg_est = std::min<std::uint32_t>(cfg.mss, 536);
        peer_mss = cfg.default_peer_mss;
        smss = std::min(peer_mss, cfg.mss);
        // RFC 7323 §2.3: the smallest shift that lets the window field cover the buffer.
        rcv_wscale = 0;
        if (cfg.window_scaling)
            while (rcv_wscale < 14 && (std::uint64_t{65535} << rcv_wscale) < cfg.receive_buffer_size) ++rcv_wscale;
        snd_wscale = 0;
        ws_ok = ts_ok = sack_ok = false;
        ts_offset = tsoff;
        ts_recent = 0;
        last_ack_sent = seq_number{};
        in_recovery = false;
        recover = high_rxt = isn;
        dupacks = 0;
        scoreboard.clear();
        rtt_timing = false;
        rtt.reset(cfg.initial_rto);
        rto_at = dack_at = persist_at = keepalive_at = time_wait_at = std::nullopt;
        retries = 0;
        rto_base = now;
        passive = false;
        soft_err = error::none;
        path_mss = 0;
        persist_interval = duration{};
        probes_unanswered = 0;
        keepalive_sent = 0;
        challenge_window = now;
        challenge_count = 0;
    }

    /// Once options are known: the receive ring (with round-up slack) and the sender MSS.
    void finish_negotiation() {
        if (!ws_ok) rcv_wscale = 0;
        rcv_limit = ws_ok ? cfg.receive_buffer_size : std::min<std::uint32_t>(cfg.receive_buffer_size, 65535);
        // The ring itself (rcv_limit plus round-up slack) waits for the first data: acquire().
        // RFC 9293 §3.7.1: the effective send MSS leaves room for the options every segment
        // carries (the 12 bytes of timestamps); never above our own MSS (our link).
        std::uint32_t m = std::min(peer_mss, cfg.mss);
        if (ts_ok) m -= 12;
        smss = static_cast<std::uint16_t>(std::max<std::uint32_t>(m, 64));
        cc->reset(smss, cfg.initial_window_segments);
    }

    std::uint32_t ts_now(instant now) const noexcept {
        return static_cast<std::uint32_t>(to_us(now) / 1000) + ts_offset;
    }

    void enter(state next, instant now) {  // the only place st changes
        if (st == next) return;
        const state prev = st;
        st = next;
        if (next == state::established && (prev == state::syn_sent || prev == state::syn_received)) {
            events |= ev::established | ev::writable;
            if (keepalive_on) keepalive_at = now + cfg.keepalive_idle;
        }
        if (next == state::fin_wait_2) arm_orphan_timer(now);
        if (next == state::time_wait) {
            release(sndbuf);  // nothing is sent any more (a retransmitted FIN is re-ACKed)
            if (app_closed || rcvbuf.empty()) release(rcvbuf);  // unread data stays readable
            rto_at = persist_at = keepalive_at = dack_at = std::nullopt;
            time_wait_at = now + 2 * cfg.msl;  // RFC 9293 §3.4.2
        }
        if (next == state::closed) {
            release(sndbuf);
            if (app_closed || rcvbuf.empty()) release(rcvbuf);  // unread data stays readable
            rto_at = persist_at = keepalive_at = dack_at = time_wait_at = std::nullopt;
            events |= ev::closed | ev::readable | ev::writable;
        }
    }

    // An orphan in FIN-WAIT-2 (the application closed, the peer ACKed our FIN but never sends
    // its own) would otherwise live forever: RFC 9293 sets no limit, but a peer that vanished
    // must not hold resources. Like Linux's tcp_fin_timeout, give up after a while (the
    // TIME-WAIT timer slot does the job: it ends in CLOSED). A half-closed connection whose
    // application still reads (shutdown_send only) is not an orphan and waits as long as it likes.
    void arm_orphan_timer(instant now) {
        if (st == state::fin_wait_2 && app_closed && cfg.fin_wait_2_timeout.count() > 0)
            time_wait_at = now + cfg.fin_wait_2_timeout;
    }

    // ---------------------------------------------------------------- buffer memory
    // The rings are allocated on first use (the first send(), the first data segment) and
    // returned when nothing more can go through them (CLOSED, TIME-WAIT, our FIN acknowledged,
    // the peer's FIN read), so a half-open or idle connection -- a SYN flood's -- costs only its
    // control block. Every byte counts against config.max_buffer_memory, stack-wide (the stats
    // block is the stack's): past it, send() takes nothing (the socket layer reports
    // no_buffer_space) and arriving data is dropped as if it were lost (the peer retransmits).
    // Allocation is per connection and direction, never per packet.
    std::size_t rcv_capacity() const noexcept { return std::size_t{rcv_limit} + (std::size_t{1} << rcv_wscale); }
    bool acquire(ring_buffer& r, std::size_t n) {
        if (r.capacity() != 0) return true;
        if (stats.buffer_bytes_in_use + n > cfg.max_buffer_memory) {
            ++stats.buffer_memory_refusals;
            return false;
        }
        r.reset(n);
        stats.buffer_bytes_in_use += n;
        return true;
    }
    void release(ring_buffer& r) noexcept {
        if (r.capacity() == 0) return;
        stats.buffer_bytes_in_use -= r.capacity();
        r = ring_buffer{};
    }
    void release_if_done() noexcept {
        if (sndbuf.empty() && (fin_queued || st == state::closed || st == state::time_wait)) release(sndbuf);
        if (rcvbuf.empty() && ooo.empty() &&
            (fin_received || app_closed || st == state::closed || st == state::time_wait))
            release(rcvbuf);
    }

    void fail(error e, instant now) {
        err = e;
        if (e == error::timed_out) {
            ++stats.connections_timed_out;
            // RFC 1122 4.2.3.9: a soft error explains the timeout better than "timed out" does
            // (Linux's tcp_write_err reports sk_err_soft, EHOSTUNREACH, the same way).
            if (soft_err != error::none) err = soft_err;
        }
        if (e == error::connection_reset && (st == state::established || st == state::close_wait)) ++stats.estab_resets;
        enter(state::closed, now);
    }

    void flush_events() {
        release_if_done();  // every public entry point ends here
        while (events != 0) {
            const std::uint8_t e = events;
            events = 0;
            observer.on_connection_event(self, e);
        }
    }

    // ---------------------------------------------------------------- receive window
    std::uint32_t rcv_wnd_now() const noexcept {
        const std::int32_t w = rcv_adv - rcv_nxt;
        return w > 0 ? static_cast<std::uint32_t>(w) : 0;
    }
    /// The right edge we could offer now, with receiver SWS avoidance (RFC 9293 §3.8.6.2.2): the
    /// edge moves only by at least min(buffer/2, MSS).
    seq_number candidate_edge() const noexcept {
        const std::uint32_t free = rcv_limit > rcvbuf.size() ? rcv_limit - u32(rcvbuf.size()) : 0;
        const seq_number edge = rcv_nxt + free;
        const std::uint32_t step = std::min<std::uint32_t>(rcv_limit / 2, cfg.mss);
        if (edge > rcv_adv && dist(edge, rcv_adv) >= step) return edge;
        return seq_max(rcv_adv, rcv_nxt);
    }
    /// The window field for a non-SYN segment; records the new right edge. Never shrinks the
    /// window's right edge (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4): scaled values are rounded up.
    std::uint16_t advertise() noexcept {
        const seq_number edge = candidate_edge();
        std::uint32_t wnd = dist(edge, rcv_nxt);
        std::uint32_t field = (wnd + (1u << rcv_wscale) - 1) >> rcv_wscale;
        field = std::min<std::uint32_t>(field, 65535);
        rcv_adv = seq_max(rcv_adv, rcv_nxt + (field << rcv_wscale));
        return static_cast<std::uint16_t>(field);
    }

    // ---------------------------------------------------------------- emitting
    wire::tcp_segment base_segment(instant now) noexcept {
        wire::tcp_segment s;
        s.source_port = tuple.local.port;
        s.destination_port = tuple.remote.port;
        if (ts_ok) s.options.timestamps = wire::tcp_timestamps{ts_now(now), ts_recent};
        return s;
    }
    /// Fills RFC 2018 SACK blocks: the block holding the newest segment first (§4), then the
    /// others newest first; 3 fit beside timestamps, 4 without.
    void add_sack_blocks(wire::tcp_segment& s) const noexcept {
        if (!sack_ok || ooo.empty()) return;
        const std::size_t max_blocks = ts_ok ? 3 : 4;
        std::array<const seq_range*, 16> order{};
        std::size_t n = 0;
        for (const auto& r : ooo) order[n++] = &r;
        std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
                  [](const seq_range* a, const seq_range* b) { return a->stamp > b->stamp; });
        for (std::size_t i = 0; i < n && i < max_blocks; ++i)
            s.options.sack[s.options.sack_count++] = wire::sack_block{order[i]->left, order[i]->right};
    }
    void note_ack_sent(const wire::tcp_segment& s) noexcept {
        if (!s.flags.ack) return;
        last_ack_sent = rcv_nxt;
        rcv_unacked = 0;
        dack_at.reset();
    }
    // in_segs / out_segs / out_rsts are counted where segments meet the wire (the socket layer).
    void emit(const wire::tcp_segment& s) {
        ++emitted;
        out.send_segment(tuple, s);
    }
    std::uint64_t emitted = 0;

    void send_syn(instant now) {
        wire::tcp_segment s = base_segment(now);
        s.seq = iss;
        s.flags.syn = true;
        s.options.mss = cfg.mss;
        if (st == state::syn_sent) {
            if (cfg.timestamps) s.options.timestamps = wire::tcp_timestamps{ts_now(now), 0};
            if (cfg.window_scaling) s.options.window_scale = rcv_wscale;
            s.options.sack_permitted = cfg.sack;
        } else {  // SYN-ACK: only what both sides asked for (RFC 7323 §1.3, RFC 2018 §2)
            s.flags.ack = true;
            s.ack = rcv_nxt;
            if (ws_ok) s.options.window_scale = rcv_wscale;
            s.options.sack_permitted = sack_ok;
        }
        // RFC 7323 §2.2: the window in a SYN is never scaled.
        const std::uint32_t w = std::min<std::uint32_t>(cfg.receive_buffer_size, 65535);
        s.window = static_cast<std::uint16_t>(w);
        if (s.flags.ack) rcv_adv = rcv_nxt + w;
        note_ack_sent(s);
        snd_nxt = seq_max(snd_nxt, iss + 1);
        snd_max = seq_max(snd_max, snd_nxt);
        emit(s);
        if (!rto_at) rto_at = now + rtt.rto();
    }

    void send_ack(instant now) {
        wire::tcp_segment s = base_segment(now);
        // After a timeout snd_nxt walks back through old data; a bare ACK must still carry the
        // first unsent sequence number (as BSD does), or the peer, whose rcv_nxt is already past
        // snd_nxt, finds it unacceptable and drops it with its acknowledgment (RFC 9293 §3.10.7.4).
        s.seq = snd_max;
        s.ack = rcv_nxt;
        s.flags.ack = true;
        s.window = advertise();
        add_sack_blocks(s);
        note_ack_sent(s);
        emit(s);
    }

    /// A bare ACK whose sequence number is below the window: it provokes an ACK from the peer
    /// (keepalive, RFC 1122 4.2.3.6; zero-window probe in the style of Linux, RFC 9293 §3.8.6.1).
    void send_probe(instant now) {
        wire::tcp_segment s = base_segment(now);
        s.seq = snd_una - 1;
        s.ack = rcv_nxt;
        s.flags.ack = true;
        s.window = advertise();
        note_ack_sent(s);
        emit(s);
    }

    void send_rst(seq_number seq, std::optional<seq_number> ack, instant now) {
        wire::tcp_segment s;
        s.source_port = tuple.local.port;
        s.destination_port = tuple.remote.port;
        s.seq = seq;
        s.flags.rst = true;
        if (ack) {
            s.flags.ack = true;
            s.ack = *ack;
        }
        (void)now;
        emit(s);
    }

    /// RFC 5961 §7: challenge ACKs are throttled (config.challenge_ack_limit per second).
    void challenge_ack(instant now) {
        if (now - challenge_window >= std::chrono::seconds{1}) {
            challenge_window = now;
            challenge_count = 0;
        }
        if (challenge_count >= cfg.challenge_ack_limit) {
            ++stats.challenge_acks_suppressed;
            return;
        }
        ++challenge_count;
        ++stats.challenge_acks;
        send_ack(now);
    }

    seq_number data_end() const noexcept { return snd_buf_seq + u32(sndbuf.size()); }
    bool fin_sent() const noexcept { return fin_queued && snd_max > data_end(); }

    /// Sends [seq, seq+len) from the send ring, plus FIN when asked. Retransmissions are counted
    /// and (Karn, RFC 6298 §3) un-time the timed segment.
    void send_data(seq_number seq, std::uint32_t len, bool fin, instant now, bool allow_gso = false) {
        wire::tcp_segment s = base_segment(now);
        s.seq = seq;
        s.ack = rcv_nxt;
        s.flags.ack = true;
        s.flags.fin = fin;
        s.window = advertise();
        add_sack_blocks(s);
        // Keep header + payload within what a full-sized segment may use (RFC 9293 §3.7.1).
        // RFC 9293 §3.7.1: Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize (options included).
        const std::uint32_t room = std::min(peer_mss, cfg.mss);
        const std::uint32_t opt = options_bound(s.options);
        const std::uint32_t limit = std::min<std::uint32_t>(smss, room > opt ? room - opt : 1);
        if (len > limit) {
            // TSO (config.gso_max_bytes, link/offload.hpp): one super-segment of whole `limit`-sized
            // pieces from one contiguous stretch of the ring, cut by the link. The end of the data
            // may ride along as a short last piece (as Linux's tcp_gso_segment cuts it); a window-
            // limited tail never does (sender SWS avoidance, RFC 9293 §3.8.6.2.1).
            std::uint32_t gso_len = 0;
            if (allow_gso) {
                gso_len = std::min(len, u32(sndbuf.contiguous(dist(seq, snd_buf_seq), len).size()));
                if (seq + gso_len != data_end()) gso_len -= gso_len % limit;
                if (gso_len <= limit) gso_len = 0;
            }
            if (gso_len > 0) {
                if (gso_len < len) s.flags.fin = fin = false;
                len = gso_len;
                s.gso_size = static_cast<std::uint16_t>(limit);
            } else {
                len = limit;
                s.flags.fin = fin = false;
            }
        }
        const std::uint32_t off = dist(seq, snd_buf_seq);
        if (len > 0) {
            bytes p = sndbuf.contiguous(off, len);
            if (p.size() < len) {
                sndbuf.copy_out(off, mutable_bytes{scratch.get(), len});
                p = bytes{scratch.get(), len};
            }
            s.payload = p;
            if (seq + len == data_end()) s.flags.psh = true;
        }
        const seq_number end = seq + len + (fin ? 1u : 0u);
        const bool nothing_outstanding = snd_una == snd_max;
        if (seq < snd_max) {
            ++stats.retrans_segs;
            if (rtt_timing && seq < rtt_seq) rtt_timing = false;  // Karn
        } else if (!ts_ok && !rtt_timing && len > 0) {
            rtt_timing = true;
            rtt_seq = end;
            rtt_sent = now;
        }
        snd_max = seq_max(snd_max, end);
        note_ack_sent(s);
        emit(s);
        // Nothing was outstanding: a stretch of waiting for an ACK begins (a retransmission from
        // on_rto finds the timer stopped too, but continues the stretch).
        if (nothing_outstanding) rto_base = now;
        if (!rto_at) rto_at = clamp_to_user_timeout(now + rtt.rto());
        last_sent_len = len + (fin ? 1u : 0u);
    }
    std::uint32_t last_sent_len = 0;

    /// Resends one segment's worth from `seq` (with the FIN if it is what remains).
    void retransmit_from(seq_number seq, instant now) {
        const seq_number dend = data_end();
        const std::uint32_t avail = seq < dend ? dist(dend, seq) : 0;
        const std::uint32_t len = std::min<std::uint32_t>(avail, smss);
        send_data(seq, len, fin_queued && len == avail && seq <= dend, now);
    }

    // ---------------------------------------------------------------- RFC 6675 scoreboard
    seq_number high_sacked() const noexcept {
        return scoreboard.empty() ? snd_una : scoreboard[scoreboard.count() - 1].right;
    }
    /// RFC 6675 §4 IsLost: more than (DupThresh-1)*SMSS bytes SACKed above `s`.
    bool is_lost(seq_number s) const noexcept { return scoreboard.total_above(s) > 2u * smss; }
    /// RFC 6675 §4 SetPipe: un-SACKed bytes not deemed lost, plus lost ones retransmitted.
    std::uint32_t pipe() const noexcept {
        std::uint32_t p = 0;
        seq_number cur = snd_una;
        auto hole = [&](seq_number l, seq_number r) {
            if (!(l < r)) return;
            if (is_lost(l)) {
                const seq_number e = seq_min(r, seq_max(l, high_rxt));
                if (l < e) p += dist(e, l);
            } else {
                p += dist(r, l);
            }
        };
        for (const auto& r : scoreboard) {
            hole(cur, r.left);
            cur = seq_max(cur, r.right);
        }
        if (cur < snd_max) p += dist(snd_max, cur);
        return p;
    }
    /// RFC 6675 §4 NextSeg rule 1: the first lost, not yet retransmitted, un-SACKed range.
    bool next_lost(seq_number& seq, std::uint32_t& len) const noexcept {
        seq_number cur = snd_una;
        for (const auto& r : scoreboard) {
            const seq_number l = seq_max(cur, high_rxt);
            if (l < r.left && is_lost(l)) {
                seq = l;
                len = std::min<std::uint32_t>(dist(r.left, l), smss);
                return true;
            }
            cur = seq_max(cur, r.right);
        }
        return false;
    }

    std::uint32_t flight() const noexcept { return dist(snd_max, snd_una); }

    // ---------------------------------------------------------------- output
    bool can_send_data() const noexcept {
        return st == state::established || st == state::close_wait || st == state::fin_wait_1 || st == state::closing ||
            st == state::last_ack;
    }

    /// Sends what the windows, Nagle and the send ring allow (RFC 9293 §3.8.6.2.1, RFC 896).
    void output(instant now) {
        if (!can_send_data()) return;
        if (in_recovery && sack_ok) {
            // RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send NextSeg.
            for (int guard = 0; guard < 1024; ++guard) {
                const std::uint32_t p = pipe();
                if (p + smss > cc->cwnd()) break;
                seq_number s;
                std::uint32_t l = 0;
                if (next_lost(s, l)) {
                    send_data(s, l, false, now);
                    high_rxt = s + last_sent_len;
                    ++stats.sack_retransmits;
                    continue;
                }
                if (!send_new_segment(now, true)) break;
            }
            return;
        }
        for (int guard = 0; guard < 100000; ++guard)
            if (!send_new_segment(now, false)) break;
    }

    /// One segment from snd_nxt; false when nothing (more) may be sent now.
    bool send_new_segment(instant now, bool sack_recovery) {
        // After a timeout snd_nxt walks back through data the peer may already hold: skip what it
        // SACKed (RFC 6675 §5.1).
        if (snd_nxt < snd_max) {
            while (const seq_range* r = scoreboard.find(snd_nxt)) snd_nxt = seq_min(r->right, snd_max);
        }
        const seq_number dend = data_end();
        const std::uint32_t unsent = snd_nxt < dend ? dist(dend, snd_nxt) : 0;
        const bool fin_pending = fin_queued && snd_nxt <= dend;
        if (unsent == 0 && !fin_pending) return false;

        const std::uint32_t in_flight = sack_recovery ? pipe() : dist(snd_nxt, snd_una);
        // RFC 3042 limited transmit: the first two duplicate ACKs each let one new segment out.
        const std::uint32_t cwnd = cc->cwnd() + (!in_recovery && dupacks < 3 ? dupacks * smss : 0u);
        const std::uint32_t cwnd_room = cwnd > in_flight ? cwnd - in_flight : 0;
        const seq_number wnd_edge = snd_una + snd_wnd;
        const std::uint32_t wnd_room = wnd_edge > snd_nxt ? dist(wnd_edge, snd_nxt) : 0;
        const std::uint32_t usable = std::min(cwnd_room, wnd_room);
        // TSO: new data outside loss recovery may leave as one super-segment (send_data cuts it to
        // whole segments); retransmissions are always one MSS, so SACK and RTT see plain segments.
        const std::uint32_t seg_cap = cfg.gso_max_bytes > smss && !sack_recovery && !in_recovery
            ? std::min(cfg.gso_max_bytes, link::max_gso_payload)
            : static_cast<std::uint32_t>(smss);
        std::uint32_t len = std::min({unsent, seg_cap, usable});
        const bool nothing_out = snd_nxt == snd_una;

        if (unsent > 0 && len == 0) {
            // RFC 9293 §3.8.6.1: a zero window with data waiting and nothing in flight starts
            // the persist timer (probes back off exponentially).
            if (wnd_room == 0 && nothing_out && !persist_at) {
                persist_interval = rtt.rto();
                persist_at = now + persist_interval;
            }
            return false;
        }
        if (len > 0 && len < smss && len < unsent) {
            // Window-limited runt: sender SWS avoidance (RFC 9293 §3.8.6.2.1) unless nothing is
            // in flight (then waiting would deadlock) or it is half the peer's largest window.
            if (!nothing_out && len < max_snd_wnd / 2) return false;
        }
        if (len > 0 && len == unsent && len < smss && cfg.nagle && !nodelay && !nothing_out && !fin_pending) {
            // RFC 896 / RFC 1122 4.2.3.4: one small segment outstanding at a time.
            return false;
        }
        if (len > 0 && len == unsent && len < smss && cfg.nagle && !nodelay && !nothing_out && fin_pending) {
            return false;  // the data then FIN follow once the outstanding small segment is ACKed
        }
        const bool fin = fin_pending && len == unsent;
        if (len == 0 && !fin) return false;
        if (auto t = cc->earliest_send(now); t && *t > now) return false;  // pacing hook
        send_data(snd_nxt, len, fin, now, /*allow_gso=*/seg_cap > smss);
        snd_nxt += last_sent_len;
        persist_at.reset();
        return true;
    }

    // ---------------------------------------------------------------- receive path
    void deliver_in_order(instant now) {
        // Pull any out-of-order ranges that now touch rcv_nxt.
        while (!ooo.empty() && ooo[0].left <= rcv_nxt) {
            if (rcv_nxt < ooo[0].right) {
                const std::uint32_t n = dist(ooo[0].right, rcv_nxt);
                rcvbuf.commit(n);
                rcv_nxt += n;
            }
            ooo.remove_below(rcv_nxt);
        }
        (void)now;
    }

    /// Text processing (RFC 9293 §3.10.7.4 seventh step) for a segment already trimmed to the
    /// window. Returns true when the ACK should go out at once.
    bool accept_data(seq_number seq, bytes payload, instant now) {
        if (payload.empty()) return false;
        if (!acquire(rcvbuf, rcv_capacity())) {
            ++stats.buffer_memory_drops;
            return false;
        }
        const std::uint32_t off = dist(seq, rcv_nxt);
        // Defensive: never past the ring (the window already guarantees it).
        const std::size_t room = rcvbuf.capacity() - rcvbuf.size();
        if (off >= room) return true;
        if (off + payload.size() > room) payload = payload.first(room - off);
        // A TSO/GRO super-segment counts as many full-sized ones: nothing larger than our MSS
        // is "full-sized", so it is ACKed at once (RFC 5681 §4.2: an ACK per two full-sized).
        rcv_seg_est = std::max(rcv_seg_est, std::min(u32(payload.size()), u32(cfg.mss)));
        if (off == 0) {
            const bool had_holes = !ooo.empty();
            rcvbuf.write_at(rcvbuf.size(), payload);
            rcvbuf.commit(payload.size());
            rcv_nxt += u32(payload.size());
            deliver_in_order(now);
            rcv_unacked += u32(payload.size());
            events |= ev::readable;
            // RFC 5681 §4.2: ACK at once when a segment fills (part of) a hole.
            return had_holes;
        }
        // Out of order: hold it in the ring at its place, bounded (config.max_out_of_order_bytes).
        ++stats.out_of_order_segs;
        const seq_number l = seq, r = seq + u32(payload.size());
        const std::uint32_t fresh = u32(payload.size()) - ooo.covered(l, r);
        if (fresh == 0) {
            ++stats.duplicate_segs;
            return true;
        }
        if (ooo.total() + fresh > cfg.max_out_of_order_bytes) {
            ++stats.out_of_order_drops;
            return true;
        }
        if (!ooo.add(l, r, ++ooo_stamp)) {  // no slot left: drop (the peer retransmits)
            ++stats.out_of_order_drops;
            return true;
        }
        rcvbuf.write_at(rcvbuf.size() + off, payload);
        return true;  // RFC 5681 §4.2: out-of-order data is ACKed immediately (a duplicate ACK)
    }

    void maybe_delayed_ack(bool now_please, instant now) {
        if (now_please || cfg.delayed_ack <= duration{} ||
            rcv_unacked >= std::max(2u, cfg.stretch_ack_segments) * rcv_seg_est) {
            send_ack(now);
            return;
        }
        if (rcv_unacked >= 2 * rcv_seg_est) {
            // RFC 1122 4.2.3.2 / RFC 5681 §4.2: ACK at least every second full-sized segment.
            // Segments that arrive together (one wakeup of the link, one batch of receive()
            // calls) get one ACK when the batch ends (the stack's poll at this instant), as
            // Linux's GRO makes one ACK of a burst; cfg.stretch_ack_segments bounds the stretch.
            ack_at_end_of_batch(now);
            return;
        }
        if (rcv_unacked > 0 && !dack_at) dack_at = now + cfg.delayed_ack;
    }

    /// A delayed ACK due now: the stack's poll at this instant, after the batch of receive()
    /// calls and what the application did about them, sends it unless a segment carried it.
    void ack_at_end_of_batch(instant now) {
        if (!dack_at || *dack_at > now) dack_at = now;
    }

    // The FIN is processed only when rcv_nxt reaches it (RFC 9293 §3.10.7.4 eighth step).
    void process_fin(instant now) {
        rcv_nxt += 1;
        fin_received = true;
        events |= ev::readable;
        switch (st) {
        case state::syn_received:
        case state::established: enter(state::close_wait, now); break;
        case state::fin_wait_1:
            // Our FIN is acknowledged only if snd_una has passed it: then TIME-WAIT, else CLOSING.
            enter(fin_sent() && snd_una == snd_max ? state::time_wait : state::closing, now);
            break;
        case state::fin_wait_2: enter(state::time_wait, now); break;
        case state::time_wait: time_wait_at = now + 2 * cfg.msl; break;
        default: break;
        }
    }

    // ---------------------------------------------------------------- ACK processing
    void take_window(const wire::tcp_segment& seg) {
        const std::uint32_t w = seg.flags.syn ? seg.window : (std::uint32_t{seg.window} << snd_wscale);
        const bool was_zero = snd_wnd == 0;
        snd_wnd = w;
        snd_wl1 = seg.seq;
        snd_wl2 = seg.ack;
        max_snd_wnd = std::max(max_snd_wnd, w);
        if (w > 0 && was_zero) {
            persist_at.reset();
            persist_interval = duration{};
        }
    }

    void rtt_sample(duration r) {
        rtt.sample(r, cfg.min_rto, cfg.max_rto);
        ++stats.rtt_samples;
    }

    void update_scoreboard(const wire::tcp_segment& seg, bool& newly_sacked) {
        if (!sack_ok) return;
        for (std::size_t i = 0; i < seg.options.sack_count && i < seg.options.sack.size(); ++i) {
            const auto& b = seg.options.sack[i];
            // Only blocks inside (snd_una, snd_max] mean anything (RFC 2018 §8 D-SACK aside).
            const seq_number l = seq_max(b.left, snd_una), r = seq_min(b.right, snd_max);
            if (!(l < r)) continue;
            if (scoreboard.covered(l, r) < dist(r, l)) {
                if (scoreboard.add(l, r)) newly_sacked = true;
            }
        }
    }

    /// RFC 9293 §3.10.7.4 fifth step for synchronized states. Returns false when the segment
    /// must be dropped.
    bool process_ack(const wire::tcp_segment& seg, instant now) {
        // RFC 5961 §5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT, otherwise a challenge ACK.
        const seq_number low = snd_una - std::max(max_snd_wnd, 1u);
        if (seg.ack > snd_max || seg.ack < low) {
            ++stats.ack_unacceptable;
            challenge_ack(now);
            return false;
        }
        probes_unanswered = 0;  // the peer is alive (it may well still advertise zero)
        bool newly_sacked = false;
        update_scoreboard(seg, newly_sacked);

        if (seg.ack > snd_una) {
            // The SYN's sequence number is not data: leave it out of congestion accounting.
            const std::uint32_t acked = dist(seg.ack, snd_una) - (snd_una == iss ? 1u : 0u);
            const std::uint32_t flight_before = flight();
            // RTT: timestamps echo (RFC 7323 §4.1), or the one timed segment (Karn/RFC 6298).
            if (ts_ok && seg.options.timestamps && seg.options.timestamps->echo != 0) {
                const std::uint32_t ms = ts_now(now) - seg.options.timestamps->echo;
                if (ms < 0x7fffffffu) rtt_sample(std::chrono::milliseconds{ms});
            } else if (rtt_timing && seg.ack >= rtt_seq) {
                rtt_timing = false;
                rtt_sample(now - rtt_sent);
            }
            snd_una = seg.ack;
            if (snd_nxt < snd_una) snd_nxt = snd_una;
            if (seg.ack > snd_buf_seq) {
                const std::uint32_t n = std::min(dist(seg.ack, snd_buf_seq), u32(sndbuf.size()));
                if (n > 0) {
                    sndbuf.consume(n);
                    if (fin_queued && sndbuf.empty()) release(sndbuf);
                    snd_buf_seq += n;
                    if (!fin_queued) events |= ev::writable;
                }
            }
            scoreboard.remove_below(snd_una);
            if (high_rxt < snd_una) high_rxt = snd_una;
            retries = 0;
            dupacks = 0;
            soft_err = error::none;  // the path works again (Linux clears sk_err_soft in tcp_ack)
            // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
            rto_at.reset();
            rto_base = now;  // progress: the user timeout (MUST-21) counts from here
            if (snd_una < snd_max) rto_at = clamp_to_user_timeout(now + rtt.rto());

            if (in_recovery) {
                if (seg.ack >= recover) {  // RFC 6582 §3.2 step 4: full acknowledgment
                    in_recovery = false;
                    cc->on_recovery_exit(flight());
                } else {  // step 5: partial acknowledgment, retransmit the next hole
                    cc->on_partial_ack(acked, sack_ok);
                    if (!sack_ok) retransmit_from(snd_una, now);
                }
            } else {
                cc->on_ack(acked, flight_before, now);
            }
        } else if (seg.ack == snd_una) {
            // RFC 5681 §2 duplicate ACK: no data, no window change, something outstanding.
            const std::uint32_t w = std::uint32_t{seg.window} << snd_wscale;
            const bool dup =
                snd_max > snd_una && seg.payload.empty() && !seg.flags.syn && !seg.flags.fin && w == snd_wnd;
            if (dup) {
                ++stats.dup_acks_in;
                ++dupacks;
                if (in_recovery && !sack_ok) cc->on_recovery_dup_ack();
            }
            // RFC 5681 §3.2 (three duplicate ACKs) or RFC 6675 §5 (IsLost(HighACK+1), which also
            // works when the SACK information rides on data segments): enter loss recovery.
            // RFC 6582 §3.2 step 2: not again for losses from the window already recovered.
            if (!in_recovery && snd_max > snd_una && snd_una >= recover &&
                (dupacks >= 3 || (sack_ok && newly_sacked && is_lost(snd_una)))) {
                in_recovery = true;
                recover = snd_max;
                cc->on_loss(flight(), sack_ok);
                ++stats.fast_retransmits;
                if (sack_ok) ++stats.sack_recoveries;
                rtt_timing = false;
                retransmit_from(snd_una, now);
                high_rxt = snd_una + last_sent_len;
                rto_at = clamp_to_user_timeout(now + rtt.rto());
            }
        }
        // Window update (RFC 9293 §3.10.7.4: SND.WL1 < SEG.SEQ, or equal and SND.WL2 =< SEG.ACK).
        if (seg.ack >= snd_una && (snd_wl1 < seg.seq || (snd_wl1 == seg.seq && snd_wl2 <= seg.ack))) take_window(seg);
        return true;
    }

    // ---------------------------------------------------------------- SYN-SENT
    void apply_syn_options(const wire::tcp_segment& seg, bool active) {
        peer_mss = seg.options.mss ? std::max<std::uint16_t>(*seg.options.mss, 64) : cfg.default_peer_mss;
        if (path_mss != 0) peer_mss = std::min(peer_mss, path_mss);  // a PMTU report in SYN-SENT
        // RFC 7323 §2.2 / §3.2: only when both sides sent the option (active: we sent ours if on).
        ws_ok = cfg.window_scaling && seg.options.window_scale.has_value();
        snd_wscale = ws_ok ? std::min<std::uint8_t>(*seg.options.window_scale, 14) : 0;  // §2.3: >14 → 14
        ts_ok = cfg.timestamps && seg.options.timestamps.has_value();
        if (ts_ok) ts_recent = seg.options.timestamps->value;
        sack_ok = cfg.sack && seg.options.sack_permitted;
        (void)active;
        finish_negotiation();
    }

    void on_syn_sent(const wire::tcp_segment& seg, instant now) {
        // RFC 9293 §3.10.7.3
        if (seg.flags.ack && (seg.ack <= iss || seg.ack > snd_max)) {
            if (!seg.flags.rst) send_rst(seg.ack, std::nullopt, now);
            return;
        }
        if (seg.flags.rst) {
            if (seg.flags.ack) {  // acceptable ACK: "error: connection reset" → refused
                ++stats.in_rsts;
                ++stats.attempt_fails;
                fail(error::connection_refused, now);
            }
            return;
        }
        if (!seg.flags.syn) return;
        irs = seg.seq;
        rcv_nxt = seg.seq + 1;
        rcv_adv = rcv_nxt;
        apply_syn_options(seg, true);
        if (seg.flags.ack) {
            snd_una = seg.ack;
            snd_wnd = seg.window;  // unscaled in a SYN (RFC 7323 §2.2)
            max_snd_wnd = snd_wnd;
            snd_wl1 = seg.seq;
            snd_wl2 = seg.ack;
            rto_at.reset();
            if (ts_ok && seg.options.timestamps->echo != 0) {
                const std::uint32_t ms = ts_now(now) - seg.options.timestamps->echo;
                if (ms < 0x7fffffffu) rtt_sample(std::chrono::milliseconds{ms});
            } else if (retries == 0 && !ts_ok) {
                rtt_sample(now - syn_sent_at);  // Karn: only when the SYN was not retransmitted
            }
            retries = 0;
            soft_err = error::none;  // the peer answered: an error from the handshake is stale
            enter(state::established, now);
            send_ack(now);
            output(now);
        } else {
            // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, send SYN,ACK.
            snd_wnd = seg.window;
            max_snd_wnd = snd_wnd;
            snd_wl1 = seg.seq;
            snd_wl2 = iss;
            enter(state::syn_received, now);
            rto_at.reset();
            send_syn(now);
        }
    }
    instant syn_sent_at{};

    // ---------------------------------------------------------------- synchronized states
    /// RFC 9293 §3.10.7.4 first check, with PAWS (RFC 7323 §5.3) first.
    void on_synchronized(wire::tcp_segment seg, instant now) {
        const bool has_ts = ts_ok && seg.options.timestamps.has_value();
        if (has_ts && !seg.flags.rst && static_cast<std::int32_t>(seg.options.timestamps->value - ts_recent) < 0) {
            ++stats.paws_drops;
            send_ack(now);
            return;
        }
        // In SYN-RECEIVED a retransmitted SYN means our SYN,ACK was lost: resend it.
        if (st == state::syn_received && seg.flags.syn && !seg.flags.ack && seg.seq == irs) {
            send_syn(now);
            return;
        }
        const std::uint32_t wnd = rcv_wnd_now();
        const std::uint32_t len = seg.sequence_length();
        bool ok;
        if (len == 0)
            ok = wnd == 0 ? seg.seq == rcv_nxt : seq_in_range(seg.seq, rcv_nxt, rcv_nxt + wnd);
        else if (wnd == 0)
            ok = false;
        else
            ok = seq_in_range(seg.seq, rcv_nxt, rcv_nxt + wnd) ||
                seq_in_range(seg.seq + len - 1, rcv_nxt, rcv_nxt + wnd);
        // RFC 9293: with a zero window, still process the ACK (and RST) of a segment at rcv_nxt.
        const bool zero_window_ack = !ok && wnd == 0 && seg.seq == rcv_nxt && len > 0;
        if (!ok && !zero_window_ack) {
            if (len > 0 && seg.seq + len <= rcv_nxt) ++stats.duplicate_segs;
            ++stats.in_window_drops;
            if (!seg.flags.rst) {
                if (st == state::time_wait && seg.flags.fin) time_wait_at = now + 2 * cfg.msl;  // re-ACK, restart 2MSL
                send_ack(now);
            }
            return;
        }
        // Trim to the window: bytes before rcv_nxt (a SYN there goes too) and after the edge.
        if (seg.seq < rcv_nxt) {
            std::uint32_t cut = dist(rcv_nxt, seg.seq);
            if (seg.flags.syn) {
                seg.flags.syn = false;
                --cut;
                seg.seq += 1;
            }
            cut = std::min<std::uint32_t>(cut, u32(seg.payload.size()));
            seg.payload = seg.payload.subspan(cut);
            seg.seq += cut;
            if (seg.seq < rcv_nxt) {  // the FIN itself was a duplicate
                seg.flags.fin = false;
                seg.seq = rcv_nxt;
            }
        }
        if (zero_window_ack) {
            seg.payload = {};
            seg.flags.fin = false;
        } else {
            const seq_number edge = rcv_nxt + wnd;
            if (seg.seq + u32(seg.payload.size()) > edge) {
                seg.payload = seg.payload.first(dist(edge, seg.seq));
                seg.flags.fin = false;
            }
        }
        // RFC 7323 §4.3: TS.Recent follows the segment that covers Last.ACK.sent.
        if (has_ts && seg.seq <= last_ack_sent) ts_recent = seg.options.timestamps->value;

        // Second: RST (RFC 5961 §3.2): exact match resets, otherwise a challenge ACK.
        if (seg.flags.rst) {
            if (seg.seq != rcv_nxt) {
                challenge_ack(now);
                return;
            }
            ++stats.in_rsts;
            switch (st) {
            case state::syn_received:
                // RFC 9293 §3.10.7.4 second check (MUST-11): after a passive open the connection
                // would go back to LISTEN -- the socket layer discards the child and the listener
                // keeps listening; after an active open (a simultaneous open) "the connection was
                // refused; signal the user".
                ++stats.attempt_fails;
                fail(passive ? error::connection_reset : error::connection_refused, now);
                break;
            case state::closing:
            case state::last_ack:
            case state::time_wait: enter(state::closed, now); break;
            default: fail(error::connection_reset, now); break;
            }
            return;
        }
        // Fourth: SYN in a synchronized state (RFC 5961 §4): challenge ACK, drop.
        if (seg.flags.syn) {
            challenge_ack(now);
            return;
        }
        // Fifth: ACK.
        if (!seg.flags.ack) return;
        if (st == state::syn_received) {
            if (seg.ack <= snd_una || seg.ack > snd_max) {
                send_rst(seg.ack, std::nullopt, now);  // <SEQ=SEG.ACK><CTL=RST>
                return;
            }
            enter(state::established, now);
            snd_wl1 = seg.seq - 1;  // force the window update below
        }
        if (!process_ack(seg, now)) return;
        const bool our_fin_acked = fin_sent() && snd_una == snd_max;
        switch (st) {
        case state::fin_wait_1:
            if (our_fin_acked) enter(state::fin_wait_2, now);
            break;
        case state::closing:
            if (our_fin_acked) enter(state::time_wait, now);
            break;
        case state::last_ack:
            if (our_fin_acked) {
                enter(state::closed, now);
                return;
            }
            break;
        case state::time_wait:
            if (seg.flags.fin) {  // a retransmitted FIN: ACK it, restart 2MSL
                time_wait_at = now + 2 * cfg.msl;
                send_ack(now);
            }
            return;
        default: break;
        }
        // Sixth: URG is ignored (RFC 6093 discourages it; the pointer is never acted on).
        // Seventh: text.
        bool ack_now = false;
        if (!seg.payload.empty()) {
            if (st == state::established || st == state::fin_wait_1 || st == state::fin_wait_2) {
                if (app_closed) {
                    // RFC 1122 4.2.2.13 / RFC 9293 §3.10.4: nobody will read it: reset.
                    ++stats.data_after_close_rsts;
                    send_rst(snd_max, rcv_nxt + u32(seg.payload.size()), now);
                    enter(state::closed, now);
                    return;
                }
                ack_now = accept_data(seg.seq, seg.payload, now);
            }
        }
        // Eighth: FIN, once everything before it has arrived.
        bool fin_ack_may_wait = false;
        if (seg.flags.fin) {
            const seq_number fin_at = seg.seq + u32(seg.payload.size());
            if (fin_at == rcv_nxt) {
                process_fin(now);
                // Told of the FIN in this same batch, an application usually closes at once; our
                // FIN then carries this ACK, one frame instead of two (RFC 9293 §3.10.7.4 asks
                // for an ACK, RFC 1122 4.2.3.2 lets it wait until the batch ends).
                if (st == state::close_wait)
                    fin_ack_may_wait = true;
                else
                    ack_now = true;
            } else if (fin_at > rcv_nxt) {
                ooo_fin = fin_at;
                ack_now = true;
            }
        }
        if (ooo_fin && *ooo_fin == rcv_nxt && !fin_received) {
            ooo_fin.reset();
            process_fin(now);
            ack_now = true;
        }
        if (st == state::closed) return;
        const std::uint64_t sent_before = emitted;
        output(now);  // new window or ACKed data may let more go
        if (ack_now && emitted != sent_before && last_ack_sent == rcv_nxt) ack_now = false;  // piggybacked
        if (rcv_unacked > 0 || ack_now) maybe_delayed_ack(ack_now, now);
        if (fin_ack_may_wait && last_ack_sent != rcv_nxt) ack_at_end_of_batch(now);
    }

    // ---------------------------------------------------------------- ICMP
    /// RFC 5927 §4.1: an ICMP error is believed only if the segment it quotes could be one of
    /// ours still in flight, SND.UNA =< SEG.SEQ < SND.NXT. Our snd_nxt walks back after a
    /// timeout, so the bound is snd_max, the highest sequence number sent (Linux's snd_nxt).
    bool quote_in_window(seq_number quoted) const noexcept { return seq_in_range(quoted, snd_una, snd_max); }
    bool icmp_applies() const noexcept { return st != state::closed && st != state::listen && st != state::time_wait; }

    /// Lowers the path MSS. True when the send MSS went down: only then can a segment we sent
    /// have been too big, and only then is data in flight worth sending again.
    bool lower_path_mss(std::uint16_t mss) noexcept {
        // RFC 8201 §5.4 / RFC 1191 §6.3: never below the protocol minimum; only downwards.
        mss = std::max<std::uint16_t>(mss, 64);
        if (path_mss != 0 && mss >= path_mss) return false;  // no news
        path_mss = mss;  // kept for apply_syn_options when the report comes in SYN-SENT
        // What we send is bounded by the peer's MSS and our own (the link MTU's). A report not
        // below that bound refused nothing of ours: no resend, so a forged one costs nothing.
        if (mss >= std::min(peer_mss, cfg.mss)) return false;
        peer_mss = mss;
        const std::uint32_t effective = ts_ok ? std::max<std::uint32_t>(mss, 76) - 12 : mss;
        smss = static_cast<std::uint16_t>(std::min<std::uint32_t>(smss, effective));
        cc->set_mss(smss);
        return true;
    }

    /// Data in flight went out in segments the path refused (they were dropped: RFC 1191 §6.5
    /// lets TCP wait for the RTO, Linux's "fast" PMTU discovery, tcp_v4_mtu_reduced ->
    /// tcp_simple_retransmit, does not): send again from SND.UNA in segments of the new size.
    /// Go-back-N as after a timeout (on_rto), but without the backoff and the cwnd cut: nothing
    /// says the path is congested. Leaving loss recovery matters: RFC 6675's pipe() would not
    /// count a go-back-N resend below SND.MAX, and the old-size retransmissions below high_rxt
    /// were dropped too.
    void resend_after_mtu_drop(instant now) {
        if (!can_send_data() || snd_una == snd_max) return;
        rtt_timing = false;  // Karn: the timed segment goes again
        in_recovery = false;
        dupacks = 0;
        recover = snd_max;  // RFC 6582 §3.2 step 2 guard, as after a timeout
        high_rxt = snd_una;
        snd_nxt = snd_una;
        output(now);
    }

    // ---------------------------------------------------------------- timers
    void on_rto(instant now) {
        rto_at.reset();
        if (st == state::syn_sent || st == state::syn_received) {
            if (retries >= cfg.max_syn_retries) {
                ++stats.attempt_fails;
                fail(error::timed_out, now);
                return;
            }
            ++retries;
            ++stats.timeouts;
            ++stats.syn_retransmits;
            ++stats.retrans_segs;
            rtt.backoff(cfg.max_rto);
            send_syn(now);
            // Negative advice for an active open only: a SYN-RECEIVED child may answer a spoofed
            // SYN, and the next hop is no less reachable for it.
            if (st == state::syn_sent) note_r1();
            return;
        }
        if (!can_send_data() || snd_una == snd_max) return;
        if (r2_reached(rto_base, retries, now)) {
            fail(error::timed_out, now);
            return;
        }
        ++retries;
        ++stats.timeouts;
        // RFC 6298 §5.4-5.6 and RFC 5681 §3.1: back off, collapse cwnd, resend from snd_una.
        cc->on_timeout(flight());
        rtt.backoff(cfg.max_rto);
        rtt_timing = false;
        in_recovery = false;
        dupacks = 0;
        recover = snd_max;  // RFC 6582 §3.2 step 2 guard after a timeout
        high_rxt = snd_una;
        snd_nxt = snd_una;
        retransmit_from(snd_una, now);
        snd_nxt = snd_una + last_sent_len;
        rto_at = clamp_to_user_timeout(now + rtt.rto());
        note_r1();
    }

    /// RFC 9293 MUST-20 / RFC 1122 4.2.3.5: when the same segment has been retransmitted R1
    /// times, tell IP (once per stretch: `retries` restarts when an ACK makes progress). The
    /// event goes out after the retransmission itself, when the caller flushes events.
    void note_r1() {
        if (cfg.r1_retries == 0 || retries != cfg.r1_retries) return;
        ++stats.negative_advice;
        events |= ev::retransmit_trouble;
    }

    /// R2 (RFC 9293 §3.8.3, MUST-20/21) for a stretch of unanswered retransmissions or probes
    /// that began at `since`: the per-connection user timeout when set (counted when it fires),
    /// else a count, smaller for an orphan (the application closed; config.hpp).
    bool r2_reached(instant since, std::uint32_t sent, instant now) {
        if (user_timeout > duration{}) {
            if (now - since < user_timeout) return false;
            ++stats.user_timeouts;
            return true;
        }
        return sent >= (app_closed ? std::min(cfg.max_orphan_retries, cfg.max_retries) : cfg.max_retries);
    }

    /// Like Linux's tcp_clamp_rto_to_user_timeout: never sleep past the user timeout, so the
    /// connection fails when it is due, not at the next backed-off RTO (up to max_rto later).
    instant clamp_to_user_timeout(instant at) const noexcept {
        if (user_timeout <= duration{}) return at;
        return std::min(at, rto_base + user_timeout);
    }

    void on_persist(instant now) {
        persist_at.reset();
        if (!can_send_data()) return;
        if (snd_wnd > 0 || snd_nxt >= data_end()) return;
        // A peer that stopped answering probes is gone (RFC 9293 MUST-26 protects only one
        // that keeps ACKing them): R2 applies, as to retransmissions (Linux's tcp_probe_timer).
        if (probes_unanswered == 0) probe_base = now;
        if (r2_reached(probe_base, probes_unanswered, now)) {
            fail(error::timed_out, now);
            return;
        }
        ++probes_unanswered;
        ++stats.zero_window_probes;
        send_probe(now);
        // RFC 9293 §3.8.6.1 / RFC 1122 4.2.2.17: probe for as long as the peer answers,
        // backing off exponentially.
        persist_interval = std::min(persist_interval * 2, cfg.max_rto);
        if (persist_interval <= duration{}) persist_interval = rtt.rto();
        persist_at = now + persist_interval;
    }

    void on_keepalive(instant now) {
        keepalive_at.reset();
        if (!keepalive_on || !synchronized(st) || st == state::time_wait) return;
        if (snd_una != snd_max) {  // data in flight: the retransmission timer covers liveness
            keepalive_at = now + cfg.keepalive_idle;
            return;
        }
        if (keepalive_sent >= cfg.keepalive_probes) {
            fail(error::timed_out, now);
            return;
        }
        ++keepalive_sent;
        ++stats.keepalive_probes;
        send_probe(now);  // RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT-1, no data
        keepalive_at = now + cfg.keepalive_interval;
    }
};

// ==================================================================== public API

connection::connection(const config& cfg, tcp_stats& stats, segment_sink& out, connection_observer& observer) noexcept
    : impl_{new impl{*this, cfg, stats, out, observer}} {}

connection::~connection() {
    impl_->release(impl_->sndbuf);
    impl_->release(impl_->rcvbuf);
    delete impl_;
}

void connection::open_active(const ip::four_tuple& tuple, seq_number iss, std::uint32_t ts_offset, instant now) {
    auto& m = *impl_;
    m.reset_for_open(tuple, iss, ts_offset, now);
    ++m.stats.active_opens;
    m.enter(state::syn_sent, now);
    m.syn_sent_at = now;
    m.send_syn(now);
    m.flush_events();
}

void connection::open_passive(const ip::four_tuple& tuple, const wire::tcp_segment& syn, seq_number iss,
                              std::uint32_t ts_offset, instant now) {
    auto& m = *impl_;
    m.reset_for_open(tuple, iss, ts_offset, now);
    ++m.stats.passive_opens;
    m.passive = true;
    m.irs = syn.seq;
    m.rcv_nxt = syn.seq + 1;
    m.rcv_adv = m.rcv_nxt;
    m.apply_syn_options(syn, false);
    m.snd_wnd = syn.window;  // unscaled in a SYN
    m.max_snd_wnd = m.snd_wnd;
    m.snd_wl1 = syn.seq;
    m.snd_wl2 = iss;
    m.enter(state::syn_received, now);
    m.send_syn(now);
    m.flush_events();
}

void connection::on_segment(const wire::tcp_segment& seg, instant now) {
    auto& m = *impl_;
    switch (m.st) {
    case state::closed:
    case state::listen: return;  // the socket layer's business
    case state::syn_sent: m.on_syn_sent(seg, now); break;
    default:
        if (m.keepalive_on && synchronized(m.st)) {
            m.keepalive_sent = 0;
            m.keepalive_at = now + m.cfg.keepalive_idle;
        }
        m.on_synchronized(seg, now);
        break;
    }
    m.flush_events();
}

void connection::on_timer(instant now) {
    auto& m = *impl_;
    if (m.time_wait_at && *m.time_wait_at <= now) {
        m.time_wait_at.reset();
        if (m.st == state::fin_wait_2) ++m.stats.fin_wait_2_timeouts;
        m.enter(state::closed, now);
        m.flush_events();
        return;
    }
    if (m.rto_at && *m.rto_at <= now) m.on_rto(now);
    if (m.st == state::closed) return m.flush_events();
    if (m.persist_at && *m.persist_at <= now) m.on_persist(now);
    if (m.dack_at && *m.dack_at <= now) {
        m.dack_at.reset();
        ++m.stats.delayed_acks;
        m.send_ack(now);
    }
    if (m.keepalive_at && *m.keepalive_at <= now) m.on_keepalive(now);
    m.flush_events();
}

instant connection::earliest_timer() const noexcept {
    const auto& m = *impl_;
    instant d = instant::max();
    const auto earliest = [&d](const std::optional<instant>& t) {
        if (t && *t < d) d = *t;
    };
    earliest(m.rto_at);
    earliest(m.dack_at);
    earliest(m.persist_at);
    earliest(m.keepalive_at);
    earliest(m.time_wait_at);
    return d;
}

std::optional<instant> connection::deadline() const noexcept {
    const instant d = earliest_timer();
    if (d == instant::max()) return std::nullopt;
    return d;
}

std::size_t connection::send(bytes data, instant now) {
    auto& m = *impl_;
    const bool ok = m.st == state::syn_sent || m.st == state::syn_received || m.st == state::established ||
        m.st == state::close_wait;
    if (!ok || m.fin_queued) return 0;
    if (!data.empty() && !m.acquire(m.sndbuf, m.cfg.send_buffer_size)) return 0;  // tcp_stats says why
    const std::size_t n = m.sndbuf.write(data);
    if (n > 0) m.output(now);
    m.flush_events();
    return n;
}

std::size_t connection::receive(mutable_bytes out, instant now) {
    auto& m = *impl_;
    if (m.app_closed) return 0;
    const std::size_t n = m.rcvbuf.read(out.first(std::min(out.size(), m.rcvbuf.size())));
    if (n > 0 && synchronized(m.st) && m.st != state::time_wait && m.st != state::close_wait &&
        m.st != state::last_ack && m.st != state::closing) {
        // Window update when the application made room (RFC 9293 §3.8.6.2.2 / RFC 1122 4.2.3.3):
        // the edge must grow by >= 2*MSS or half the buffer, else wait for the next ACK.
        // Only worth an ACK of its own when the peer is (nearly) window-limited: what it may
        // still send is under twice that threshold (otherwise the next ACK carries the news).
        const std::uint32_t free = m.rcv_limit > m.rcvbuf.size() ? m.rcv_limit - u32(m.rcvbuf.size()) : 0;
        const seq_number edge = m.rcv_nxt + free;
        const std::uint32_t threshold = std::min(2u * m.cfg.mss, m.rcv_limit / 2);
        if (edge > m.rcv_adv && m.rcv_wnd_now() < 2 * threshold) {
            const std::uint32_t grow = dist(edge, m.rcv_adv);
            if (grow >= threshold) {
                ++m.stats.window_updates;
                m.send_ack(now);
            }
        }
    }
    m.flush_events();
    return n;
}

std::size_t connection::bytes_readable() const noexcept { return impl_->app_closed ? 0 : impl_->rcvbuf.size(); }

std::size_t connection::send_space() const noexcept {
    const auto& m = *impl_;
    const bool ok = m.st == state::syn_sent || m.st == state::syn_received || m.st == state::established ||
        m.st == state::close_wait;
    if (!ok || m.fin_queued) return 0;
    return m.sndbuf.capacity() == 0 ? m.cfg.send_buffer_size : m.sndbuf.free();  // not allocated yet
}

std::size_t connection::bytes_unacknowledged() const noexcept {
    const auto& m = *impl_;
    return m.sndbuf.size();
}

bool connection::eof() const noexcept { return impl_->fin_received && impl_->rcvbuf.empty(); }

void connection::shutdown_send(instant now) {
    auto& m = *impl_;
    switch (m.st) {
    case state::syn_sent: m.enter(state::closed, now); break;  // RFC 9293 §3.10.4: delete the TCB
    case state::syn_received:
    case state::established:
        m.fin_queued = true;
        m.enter(state::fin_wait_1, now);
        m.output(now);
        break;
    case state::close_wait:
        m.fin_queued = true;
        m.enter(state::last_ack, now);
        m.output(now);
        break;
    default: break;  // already closing
    }
    m.flush_events();
}

void connection::close(instant now) {
    auto& m = *impl_;
    if (!m.rcvbuf.empty() && synchronized(m.st) && m.st != state::time_wait) {
        // RFC 1122 4.2.2.13 / RFC 2525 §2.17: closing with unread data resets the connection.
        m.send_rst(m.snd_max, m.rcv_nxt, now);
        m.app_closed = true;
        m.enter(state::closed, now);
        m.flush_events();
        return;
    }
    m.app_closed = true;
    shutdown_send(now);
    m.arm_orphan_timer(now);  // closed after a half-close that already reached FIN-WAIT-2
}

void connection::abort(instant now) {
    auto& m = *impl_;
    if (m.st == state::closed) return;
    if (synchronized(m.st) || m.st == state::syn_received) {
        if (m.st != state::time_wait) m.send_rst(m.snd_max, m.rcv_nxt, now);  // RFC 9293 §3.10.5
    }
    ++m.stats.connections_aborted;
    m.err = error::connection_aborted;
    m.app_closed = true;
    m.enter(state::closed, now);
    m.flush_events();
}

void connection::drop(instant now) {
    auto& m = *impl_;
    if (m.st == state::closed) return;
    m.err = error::connection_aborted;
    m.app_closed = true;
    m.enter(state::closed, now);
    m.flush_events();
}

void connection::set_no_delay(bool on) noexcept { impl_->nodelay = on; }

icmp_outcome connection::on_icmp_error(seq_number quoted_seq, error reported, bool hard, instant now) {
    auto& m = *impl_;
    if (!m.icmp_applies()) return icmp_outcome::ignored;
    if (!m.quote_in_window(quoted_seq)) return icmp_outcome::out_of_window;
    // RFC 1122 4.2.3.9 (RFC 9293 SHLD-26): a hard error aborts a connection that is still
    // opening -- SYN-SENT, or SYN-RECEIVED (a passive child was never accepted, so only the
    // handshake is lost; after a simultaneous open the application hears of it as in SYN-SENT).
    // Once synchronized every error is soft (MUST-56): the peer answered before, and a stray
    // or forged ICMP message must not end the connection (RFC 5927 §4.2, Linux's tcp_v4_err).
    if (hard && (m.st == state::syn_sent || m.st == state::syn_received)) {
        ++m.stats.attempt_fails;
        m.fail(reported, now);
        m.flush_events();
        return icmp_outcome::delivered;
    }
    m.soft_err = reported;
    return icmp_outcome::delivered;
}

icmp_outcome connection::on_path_mtu(seq_number quoted_seq, std::uint16_t mss, instant now) {
    auto& m = *impl_;
    if (!m.icmp_applies()) return icmp_outcome::ignored;
    if (!m.quote_in_window(quoted_seq)) return icmp_outcome::out_of_window;
    if (!m.lower_path_mss(mss)) return icmp_outcome::ignored;
    m.resend_after_mtu_drop(now);
    m.flush_events();
    return icmp_outcome::delivered;
}

error connection::soft_error() const noexcept { return impl_->soft_err; }

void connection::set_user_timeout(duration timeout) noexcept {
    auto& m = *impl_;
    m.user_timeout = timeout > duration{} ? timeout : duration{};
    // A running timer keeps its expiry, now clamped (a longer timeout takes effect at the next
    // retransmission; on_rto checks the deadline itself).
    if (m.rto_at && synchronized(m.st)) m.rto_at = m.clamp_to_user_timeout(*m.rto_at);
}

duration connection::user_timeout() const noexcept { return impl_->user_timeout; }

bool connection::passive_open() const noexcept { return impl_->passive; }

void connection::set_keep_alive(bool on, instant now) noexcept {
    auto& m = *impl_;
    m.keepalive_on = on;
    m.keepalive_sent = 0;
    if (on && synchronized(m.st) && m.st != state::time_wait)
        m.keepalive_at = now + m.cfg.keepalive_idle;
    else
        m.keepalive_at.reset();
}

state connection::current_state() const noexcept { return impl_->st; }
error connection::last_error() const noexcept { return impl_->err; }
const ip::four_tuple& connection::tuple() const noexcept { return impl_->tuple; }
seq_number connection::rcv_nxt() const noexcept { return impl_->rcv_nxt; }

bool connection::accepts_reincarnation(const wire::tcp_segment& syn) const noexcept {
    const auto& m = *impl_;
    if (m.st != state::time_wait || !syn.flags.syn || syn.flags.ack) return false;
    // RFC 6191 §2: with timestamps, a newer TSval; otherwise (RFC 9293 §3.10.7.4 note,
    // RFC 1122 4.2.2.13) an ISN above the old connection's sequence space.
    if (m.ts_ok && syn.options.timestamps)
        return static_cast<std::int32_t>(syn.options.timestamps->value - m.ts_recent) > 0;
    return syn.seq > m.rcv_nxt;
}

connection_info connection::info() const noexcept {
    const auto& m = *impl_;
    connection_info i;
    i.iss = m.iss;
    i.irs = m.irs;
    i.snd_una = m.snd_una;
    i.snd_nxt = m.snd_nxt;
    i.snd_max = m.snd_max;
    i.rcv_nxt = m.rcv_nxt;
    i.snd_wnd = m.snd_wnd;
    i.rcv_wnd = m.rcv_wnd_now();
    i.cwnd = m.cc->cwnd();
    i.ssthresh = m.cc->ssthresh();
    i.peer_mss = m.peer_mss;
    i.smss = m.smss;
    i.snd_wscale = m.snd_wscale;
    i.rcv_wscale = m.rcv_wscale;
    i.window_scaling = m.ws_ok;
    i.timestamps = m.ts_ok;
    i.sack = m.sack_ok;
    i.in_recovery = m.in_recovery;
    i.srtt = m.rtt.srtt();
    i.rttvar = m.rtt.rttvar();
    i.rto = m.rtt.rto();
    i.ooo_bytes = m.ooo.total();
    i.soft_error = m.soft_err;
    return i;
}

}  // namespace tapstack::tcp
