// Segment emission: SYN, ACK, probes, RST, data (RFC 9293 §3.8.6.2.1 sender SWS avoidance,
// RFC 896 Nagle, RFC 6675 §5 SACK recovery transmission, RFC 3042 limited transmit, TSO).
#include <algorithm>
#include <tapstack/link/offload.hpp>

#include "connection_impl.hpp"

namespace tapstack::tcp {

using detail::dist;
using detail::u32;

namespace {
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
}  // namespace

// ==================================================================== control segments

wire::tcp_segment connection::impl::base_segment(instant now) noexcept {
    wire::tcp_segment s;
    s.source_port = tuple.local.port;
    s.destination_port = tuple.remote.port;
    if (ts_ok) s.options.timestamps = wire::tcp_timestamps{ts_now(now), ts_recent};
    return s;
}

void connection::impl::note_ack_sent(const wire::tcp_segment& s) noexcept {
    if (!s.flags.ack) return;
    last_ack_sent = rcv.nxt;
    rcv.acked();
    timers.dack.reset();
}

void connection::impl::send_syn(instant now) {
    wire::tcp_segment s = base_segment(now);
    s.seq = snd.iss;
    s.flags.syn = true;
    s.options.mss = cfg.mss;
    if (st == state::syn_sent) {
        if (cfg.timestamps) s.options.timestamps = wire::tcp_timestamps{ts_now(now), 0};
        if (cfg.window_scaling) s.options.window_scale = rcv.wscale;
        s.options.sack_permitted = cfg.sack;
    } else {  // SYN-ACK: only what both sides asked for (RFC 7323 §1.3, RFC 2018 §2)
        s.flags.ack = true;
        s.ack = rcv.nxt;
        if (ws_ok) s.options.window_scale = rcv.wscale;
        s.options.sack_permitted = sack_ok;
    }
    // RFC 7323 §2.2: the window in a SYN is never scaled.
    const std::uint32_t w = std::min<std::uint32_t>(rcv_max, 65535);
    s.window = static_cast<std::uint16_t>(w);
    if (s.flags.ack) rcv.adv = rcv.nxt + w;
    note_ack_sent(s);
    snd.nxt = seq_max(snd.nxt, snd.iss + 1);
    snd.max = seq_max(snd.max, snd.nxt);
    emit(s);
    if (!timers.rto) timers.rto = now + rtt.rto();
}

void connection::impl::send_ack(instant now) {
    wire::tcp_segment s = base_segment(now);
    // After a timeout snd.nxt walks back through old data; a bare ACK must still carry the
    // first unsent sequence number (as BSD does), or the peer, whose rcv_nxt is already past
    // snd.nxt, finds it unacceptable and drops it with its acknowledgment (RFC 9293 §3.10.7.4).
    s.seq = snd.max;
    s.ack = rcv.nxt;
    s.flags.ack = true;
    s.window = rcv.advertise(cfg.mss);
    if (sack_ok) rcv.add_sack_blocks(s.options, ts_ok);
    note_ack_sent(s);
    emit(s);
}

/// A bare ACK whose sequence number is below the window: it provokes an ACK from the peer
/// (keepalive, RFC 1122 4.2.3.6; zero-window probe in the style of Linux, RFC 9293 §3.8.6.1).
void connection::impl::send_probe(instant now) {
    wire::tcp_segment s = base_segment(now);
    s.seq = snd.una - 1;
    s.ack = rcv.nxt;
    s.flags.ack = true;
    s.window = rcv.advertise(cfg.mss);
    note_ack_sent(s);
    emit(s);
}

void connection::impl::send_rst(seq_number seq, std::optional<seq_number> ack, instant now) {
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

/// RFC 5961 §7: challenge ACKs are throttled (config.challenge_ack_limit per second, for the
/// whole stack: the limiter is shared, see set_challenge_ack_limiter).
void connection::impl::challenge_ack(instant now) {
    if (!challenge_limiter->allow(now, cfg.challenge_ack_limit)) {
        ++stats.challenge_acks_suppressed;
        return;
    }
    ++stats.challenge_acks;
    send_ack(now);
}

// ==================================================================== data segments

/// The payload a segment with options `o` may carry. Keep header + payload within what a
/// full-sized segment may use: RFC 9293 §3.7.1, Eff.snd.MSS = min(SendMSS+20, MMS_S) -
/// TCPhdrsize (options included).
std::uint32_t connection::impl::segment_limit(const wire::tcp_options& o) const noexcept {
    const std::uint32_t room = std::min(peer_mss, cfg.mss);
    const std::uint32_t opt = options_bound(o);
    return std::min<std::uint32_t>(smss, room > opt ? room - opt : 1);
}

/// TSO (config.gso_max_bytes, link/offload.hpp): one super-segment from one contiguous stretch
/// of the ring, cut by the link into `limit`-sized pieces, holding exactly the segments the
/// plain path (one segment per call of send_new_segment) would send now: full-sized ones while
/// at least an SMSS is left to send and usable, then, one by one, what the sender SWS rule and
/// Nagle let go (RFC 9293 §3.8.6.2.1, RFC 896; as Linux's tcp_mss_split_point). Only the last
/// piece may be short. 0: no super-segment (send one segment).
std::uint32_t connection::impl::gso_length(seq_number seq, std::uint32_t len, std::uint32_t limit,
                                           const tso_room& room) const noexcept {
    const std::uint32_t bound = std::min(len, u32(snd.buf.contiguous(dist(seq, snd.buf_seq), len).size()));
    std::uint32_t total = bound >= smss ? ((bound - smss) / limit + 1) * limit : 0;
    // Below an SMSS: only where the plain path's own bounds end (else the next call goes on).
    const bool plain_end = bound == std::min(room.unsent, room.usable);
    while (plain_end && total < bound) {
        const std::uint32_t rest = bound - total;
        if (!snd.small_segment_may_go(rest, room.unsent - total, smss, cfg.nagle, room.nothing_out && total == 0))
            break;
        total += std::min(rest, limit);
    }
    return total <= limit ? 0 : total;
}

/// Sends [seq, seq+len) from the send ring, plus FIN when asked. Retransmissions are counted
/// and (Karn, RFC 6298 §3) un-time the timed segment.
void connection::impl::send_data(seq_number seq, std::uint32_t len, bool fin, instant now, const tso_room* tso) {
    wire::tcp_segment s = base_segment(now);
    s.seq = seq;
    s.ack = rcv.nxt;
    s.flags.ack = true;
    s.flags.fin = fin;
    s.window = rcv.advertise(cfg.mss);
    if (sack_ok) rcv.add_sack_blocks(s.options, ts_ok);
    const std::uint32_t limit = segment_limit(s.options);
    if (len > limit) {
        const std::uint32_t gso_len = tso != nullptr ? gso_length(seq, len, limit, *tso) : 0;
        if (gso_len > 0) {
            if (gso_len < len) s.flags.fin = fin = false;
            len = gso_len;
            s.gso_size = static_cast<std::uint16_t>(limit);
        } else {
            len = limit;
            s.flags.fin = fin = false;
        }
    }
    const std::uint32_t off = dist(seq, snd.buf_seq);
    if (len > 0) {
        bytes p = snd.buf.contiguous(off, len);
        if (p.size() < len) {
            snd.buf.copy_out(off, mutable_bytes{snd.scratch.get(), len});
            p = bytes{snd.scratch.get(), len};
        }
        s.payload = p;
        if (seq + len == snd.data_end()) s.flags.psh = true;
    }
    const seq_number end = seq + len + (fin ? 1u : 0u);
    const bool nothing_outstanding = snd.una == snd.max;
    note_data_sent(seq, len, end, now);
    note_ack_sent(s);
    emit(s);
    // Nothing was outstanding: a stretch of waiting for an ACK begins (a retransmission from
    // on_rto finds the timer stopped too, but continues the stretch).
    if (nothing_outstanding) timers.rto_base = now;
    if (!timers.rto) timers.rto = timers.clamp_to_user_timeout(now + rtt.rto());
    last_sent_len = len + (fin ? 1u : 0u);
}

/// Retransmission count and RTT timing (Karn, RFC 6298 §3) for [seq, end) about to leave.
void connection::impl::note_data_sent(seq_number seq, std::uint32_t len, seq_number end, instant now) {
    if (seq < snd.max) {
        ++stats.retrans_segs;
        if (rtt_timing && seq < rtt_seq) rtt_timing = false;  // Karn
    } else if (!ts_ok && !rtt_timing && len > 0) {
        rtt_timing = true;
        rtt_seq = end;
        rtt_sent = now;
    }
    snd.max = seq_max(snd.max, end);
}

/// Resends one segment's worth from `seq` (with the FIN if it is what remains).
void connection::impl::retransmit_from(seq_number seq, instant now) {
    const seq_number dend = snd.data_end();
    const std::uint32_t avail = seq < dend ? dist(dend, seq) : 0;
    const std::uint32_t len = std::min<std::uint32_t>(avail, smss);
    send_data(seq, len, snd.fin_queued && len == avail && seq <= dend, now);
}

// ==================================================================== output

/// Sends what the windows, Nagle and the send ring allow (RFC 9293 §3.8.6.2.1, RFC 896).
void connection::impl::output(instant now) {
    if (!can_send_data()) return;
    if (recovery.in_recovery() && sack_ok) return output_sack_recovery(now);
    for (int guard = 0; guard < 100000; ++guard)
        if (!send_new_segment(now, false)) break;
}

/// RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send NextSeg.
void connection::impl::output_sack_recovery(instant now) {
    for (int guard = 0; guard < 1024; ++guard) {
        const std::uint32_t p = pipe();
        if (p + smss > cc->cwnd()) break;
        seq_number s;
        std::uint32_t l = 0;
        if (scoreboard.next_lost(snd.una, recovery.high_rxt(), smss, s, l)) {
            send_data(s, l, false, now);
            recovery.retransmitted_to(s + last_sent_len);
            ++stats.sack_retransmits;
            continue;
        }
        if (!send_new_segment(now, true)) break;
    }
}

/// One segment from snd.nxt; false when nothing (more) may be sent now.
bool connection::impl::send_new_segment(instant now, bool sack_recovery) {
    // After a timeout snd.nxt walks back through data the peer may already hold: skip what it
    // SACKed (RFC 6675 §5.1).
    if (snd.nxt < snd.max) snd.nxt = scoreboard.skip_sacked(snd.nxt, snd.max);
    const std::uint32_t unsent = snd.unsent();
    const bool fin_pending = snd.fin_queued && snd.nxt <= snd.data_end();
    if (unsent == 0 && !fin_pending) return false;

    const std::uint32_t in_flight = sack_recovery ? pipe() : dist(snd.nxt, snd.una);
    // RFC 3042 limited transmit: the first two duplicate ACKs each let one new segment out.
    const std::uint32_t cwnd = cc->cwnd() + recovery.limited_transmit_allowance(smss);
    const std::uint32_t cwnd_room = cwnd > in_flight ? cwnd - in_flight : 0;
    const std::uint32_t wnd_room = snd.window_room();
    const std::uint32_t usable = std::min(cwnd_room, wnd_room);
    // TSO: new data outside loss recovery may leave as one super-segment (send_data cuts it to
    // whole segments); retransmissions are always one MSS, so SACK and RTT see plain segments.
    const std::uint32_t seg_cap = cfg.gso_max_bytes > smss && !sack_recovery && !recovery.in_recovery()
        ? std::min(cfg.gso_max_bytes, link::max_gso_payload)
        : static_cast<std::uint32_t>(smss);
    const std::uint32_t len = std::min({unsent, seg_cap, usable});
    const bool nothing_out = snd.nxt == snd.una;

    if (unsent > 0 && len == 0) {
        // RFC 9293 §3.8.6.1: a zero window with data waiting and nothing in flight starts
        // the persist timer (probes back off exponentially).
        if (send_side::needs_persist(wnd_room, nothing_out) && !timers.persist) {
            snd.persist_interval = rtt.rto();
            timers.persist = now + snd.persist_interval;
        }
        return false;
    }
    if (!snd.small_segment_may_go(len, unsent, smss, cfg.nagle, nothing_out)) return false;
    const bool fin = fin_pending && len == unsent;
    if (len == 0 && !fin) return false;
    if (auto t = cc->earliest_send(now); t && *t > now) return false;  // pacing hook
    const tso_room room{unsent, usable, nothing_out};
    send_data(snd.nxt, len, fin, now, seg_cap > smss ? &room : nullptr);
    snd.nxt += last_sent_len;
    timers.persist.reset();
    return true;
}

}  // namespace tapstack::tcp
