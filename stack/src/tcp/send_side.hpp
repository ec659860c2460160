#pragma once
// The send side of a connection: the send sequence space (RFC 9293 §3.3.1), the send ring, the
// peer's window, and the sender's decisions about small segments (RFC 896 Nagle, RFC 9293
// §3.8.6.2.1 sender SWS avoidance) and zero-window probing (RFC 9293 §3.8.6.1).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <tapstack/base/time.hpp>
#include <tapstack/tcp/ring_buffer.hpp>
#include <tapstack/wire/seq_number.hpp>
#include <tapstack/wire/tcp.hpp>

namespace tapstack::tcp {

struct send_side {
    // --- send sequence space; max is the highest ever sent (snd_nxt walks back after a timeout)
    seq_number iss, una, nxt, max, wl1, wl2;
    std::uint32_t wnd = 0;  // the peer's window, scaled, bytes
    std::uint32_t max_wnd = 0;  // the largest it ever offered
    std::uint8_t wscale = 0;  // the peer's shift (RFC 7323 §2.2)
    seq_number buf_seq;  // sequence number of the ring's first byte
    ring_buffer buf;
    std::unique_ptr<std::byte[]> scratch;  // one segment's payload when the ring wraps
    std::size_t scratch_size = 0;
    bool fin_queued = false;  // the application shut down sending: FIN follows the data
    bool nodelay = false;  // TCP_NODELAY: Nagle off for this connection
    // --- persist (RFC 9293 §3.8.6.1) ---
    duration persist_interval{};
    // Zero-window probes sent since the peer last sent an ACK; RFC 9293 MUST-26 lets the
    // connection close only when probes go unanswered, never for a long zero window alone.
    std::uint32_t probes_unanswered = 0;
    instant probe_base{};  // when the first unanswered probe went out (for the user timeout)

    /// A connection opens with `isn`: nothing sent, no window, no ring (allocated on first use).
    void reset(seq_number isn) noexcept {
        iss = una = nxt = max = isn;
        wl1 = wl2 = seq_number{};
        wnd = max_wnd = 0;
        wscale = 0;
        buf_seq = isn + 1;
        fin_queued = false;
        persist_interval = duration{};
        probes_unanswered = 0;
    }

    /// One past the last byte the application queued.
    seq_number data_end() const noexcept { return buf_seq + static_cast<std::uint32_t>(buf.size()); }
    /// Our FIN has gone out (it sits just past the data).
    bool fin_sent() const noexcept { return fin_queued && max > data_end(); }
    /// Bytes (and SYN/FIN) sent and not yet acknowledged.
    std::uint32_t flight() const noexcept { return static_cast<std::uint32_t>(max - una); }
    /// Queued bytes at or after SND.NXT.
    std::uint32_t unsent() const noexcept {
        const seq_number dend = data_end();
        return nxt < dend ? static_cast<std::uint32_t>(dend - nxt) : 0;
    }
    /// What the peer's window still lets through from SND.NXT.
    std::uint32_t window_room() const noexcept {
        const seq_number edge = una + wnd;
        return edge > nxt ? static_cast<std::uint32_t>(edge - nxt) : 0;
    }

    /// The peer's SYN (or SYN,ACK) gives the first window, never scaled (RFC 7323 §2.2).
    /// `ack` becomes SND.WL2: SEG.ACK of a SYN,ACK, else our ISS.
    void take_syn_window(const wire::tcp_segment& syn, seq_number ack) noexcept {
        wnd = syn.window;
        max_wnd = wnd;
        wl1 = syn.seq;
        wl2 = ack;
    }
    /// SND.UNA advances to `ack` (SND.UNA < SEG.ACK =< SND.MAX); SND.NXT never stays behind it.
    void acknowledge(seq_number ack) noexcept {
        una = ack;
        if (nxt < una) nxt = una;
    }

    /// Takes the peer's window from `seg` (RFC 9293 §3.10.7.4, fifth check), remembering SND.WL1
    /// and SND.WL2. True when a zero window opened (persist then stops).
    bool take_window(const wire::tcp_segment& seg) noexcept {
        const std::uint32_t w = seg.flags.syn ? seg.window : (std::uint32_t{seg.window} << wscale);
        const bool was_zero = wnd == 0;
        wnd = w;
        wl1 = seg.seq;
        wl2 = seg.ack;
        max_wnd = std::max(max_wnd, w);
        if (w > 0 && was_zero) {
            persist_interval = duration{};
            return true;
        }
        return false;
    }
    /// RFC 9293 §3.10.7.4: update the window when SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and
    /// SND.WL2 =< SEG.ACK (an older segment must not undo a newer window).
    bool window_update_applies(const wire::tcp_segment& seg) const noexcept {
        return seg.ack >= una && (wl1 < seg.seq || (wl1 == seg.seq && wl2 <= seg.ack));
    }
    /// Drops acknowledged bytes from the ring (SND.UNA has reached `ack`); the count dropped.
    std::uint32_t consume_acked(seq_number ack) noexcept {
        if (!(ack > buf_seq)) return 0;
        const std::uint32_t n =
            std::min(static_cast<std::uint32_t>(ack - buf_seq), static_cast<std::uint32_t>(buf.size()));
        if (n == 0) return 0;
        buf.consume(n);
        buf_seq += n;
        return n;
    }

    /// May a segment of `len` bytes (of `unsent` waiting) leave now? Holds back window-limited
    /// runts (sender SWS avoidance, RFC 9293 §3.8.6.2.1: unless nothing is in flight, when waiting
    /// would deadlock, or it is half the peer's largest window) and, with Nagle on (RFC 896 /
    /// RFC 1122 4.2.3.4), a short last piece while something is outstanding (a FIN behind it
    /// waits too: data then FIN follow once the outstanding small segment is ACKed).
    bool small_segment_may_go(std::uint32_t len, std::uint32_t unsent, std::uint32_t smss, bool nagle,
                              bool nothing_out) const noexcept {
        if (len == 0 || len >= smss) return true;
        if (len < unsent) return nothing_out || len >= max_wnd / 2;
        return !(nagle && !nodelay && !nothing_out);
    }
    /// RFC 9293 §3.8.6.1: with data waiting, a zero usable window and nothing in flight, the
    /// persist timer must run (else nothing would ever reopen the window).
    static bool needs_persist(std::uint32_t window_room, bool nothing_out) noexcept {
        return window_room == 0 && nothing_out;
    }
    /// The interval to the next zero-window probe: RFC 9293 §3.8.6.1 / RFC 1122 4.2.2.17 back off
    /// exponentially (bounded by max_rto), starting from the RTO.
    duration back_off_persist(duration rto, duration max_rto) noexcept {
        persist_interval = std::min(persist_interval * 2, max_rto);
        if (persist_interval <= duration{}) persist_interval = rto;
        return persist_interval;
    }
};

}  // namespace tapstack::tcp
