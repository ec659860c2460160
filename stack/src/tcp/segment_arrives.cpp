// SEGMENT ARRIVES (RFC 9293 §3.10.7) for the states a connection handles itself: SYN-SENT
// (§3.10.7.3) and the synchronized states (§3.10.7.4), each check a named step in the RFC's
// order, with the RFC 5961 hardening and RFC 7323 PAWS. CLOSED and LISTEN (§3.10.7.1-2) are the
// socket layer's (socket/tcp_sockets.cpp).
#include <algorithm>

#include "connection_impl.hpp"

namespace tapstack::tcp {

using detail::dist;
using detail::synchronized;
using detail::u32;
using ev = connection_observer;

void connection::on_segment(const wire::tcp_segment& seg, instant now) {
    auto& m = *impl_;
    switch (m.st) {
    case state::closed:
    case state::listen: return;  // the socket layer's business
    case state::syn_sent: m.on_syn_sent(seg, now); break;
    default:
        if (m.timers.keepalive_on && synchronized(m.st)) m.timers.restart_keepalive(now, m.cfg.keepalive_idle);
        m.on_synchronized(seg, now);
        break;
    }
    m.flush_events();
}

bool connection::accepts_reincarnation(const wire::tcp_segment& syn) const noexcept {
    const auto& m = *impl_;
    if (m.st != state::time_wait || !syn.flags.syn || syn.flags.ack) return false;
    // RFC 6191 §2: with timestamps, a newer TSval; otherwise (RFC 9293 §3.10.7.4 note,
    // RFC 1122 4.2.2.13) an ISN above the old connection's sequence space.
    if (m.ts_ok && syn.options.timestamps)
        return static_cast<std::int32_t>(syn.options.timestamps->value - m.ts_recent) > 0;
    return syn.seq > m.rcv.nxt;
}

// ==================================================================== SYN-SENT (§3.10.7.3)

void connection::impl::on_syn_sent(const wire::tcp_segment& seg, instant now) {
    if (!syn_sent_check_ack(seg, now)) return;  // first: the ACK bit
    if (!syn_sent_check_reset(seg, now)) return;  // second: the RST bit
    if (!check_security(seg)) return;  // third: security (tapstack keeps no compartments)
    if (!seg.flags.syn) return;  // fifth: neither SYN nor RST set: drop
    // fourth: the SYN bit, with or without an acceptable ACK
    rcv.take_syn(seg.seq);
    apply_syn_options(seg);
    if (seg.flags.ack)
        syn_sent_on_syn_ack(seg, now);
    else
        syn_sent_on_simultaneous_syn(seg, now);
}

/// First: an ACK outside ISS < SEG.ACK =< SND.NXT is answered <SEQ=SEG.ACK><CTL=RST> (unless
/// it is an RST itself) and dropped.
bool connection::impl::syn_sent_check_ack(const wire::tcp_segment& seg, instant now) {
    if (!seg.flags.ack || (seg.ack > snd.iss && seg.ack <= snd.max)) return true;
    if (!seg.flags.rst) send_rst(seg.ack, std::nullopt, now);
    return false;
}

/// Second: an RST with an acceptable ACK is "error: connection reset", which the user hears as
/// refused; without an ACK it is dropped.
bool connection::impl::syn_sent_check_reset(const wire::tcp_segment& seg, instant now) {
    if (!seg.flags.rst) return true;
    if (seg.flags.ack) {
        ++stats.in_rsts;
        ++stats.attempt_fails;
        fail(error::connection_refused, now);
    }
    return false;
}

/// Our SYN is acknowledged: ESTABLISHED, ACK the peer's SYN, send what is queued.
void connection::impl::syn_sent_on_syn_ack(const wire::tcp_segment& seg, instant now) {
    snd.una = seg.ack;
    snd.take_syn_window(seg, seg.ack);
    timers.rto.reset();
    if (ts_ok && seg.options.timestamps->echo != 0) {
        const std::uint32_t ms = ts_now(now) - seg.options.timestamps->echo;
        if (ms < 0x7fffffffu) rtt_sample(std::chrono::milliseconds{ms});
    } else if (timers.retries == 0 && !ts_ok) {
        rtt_sample(now - syn_sent_at);  // Karn: only when the SYN was not retransmitted
    }
    timers.retries = 0;
    soft_err = error::none;  // the peer answered: an error from the handshake is stale
    enter(state::established, now);
    send_ack(now);
    output(now);
}

/// Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, send SYN,ACK.
void connection::impl::syn_sent_on_simultaneous_syn(const wire::tcp_segment& seg, instant now) {
    snd.take_syn_window(seg, snd.iss);
    enter(state::syn_received, now);
    timers.rto.reset();
    send_syn(now);
}

// ==================================================================== synchronized states (§3.10.7.4)

void connection::impl::on_synchronized(wire::tcp_segment seg, instant now) {
    if (!check_sequence(seg, now)) return;  // first: acceptability (and PAWS), trim to the window
    if (!check_reset(seg, now)) return;  // second: RST, narrowed by RFC 5961 §3
    if (!check_security(seg)) return;  // third: security
    if (!check_syn(seg, now)) return;  // fourth: SYN, RFC 5961 §4
    if (!check_ack(seg, now)) return;  // fifth: ACK, RFC 5961 §5
    check_urg(seg);  // sixth: URG
    arrival a;
    if (!process_text(seg, a, now)) return;  // seventh: segment text
    check_fin(seg, a, now);  // eighth: FIN
    finish_arrival(a, now);
}

/// RFC 7323 §5.3 PAWS, before the sequence number check: a segment whose TSval is older than
/// TS.Recent is a duplicate from an earlier wrap of the sequence space: ACK and drop.
bool connection::impl::paws_rejects(const wire::tcp_segment& seg, instant now) {
    const bool has_ts = ts_ok && seg.options.timestamps.has_value();
    if (!has_ts || seg.flags.rst || static_cast<std::int32_t>(seg.options.timestamps->value - ts_recent) >= 0)
        return false;
    ++stats.paws_drops;
    send_ack(now);
    return true;
}

/// First check: is the segment in the receive window? If not, ACK (unless it is an RST) and
/// drop. Otherwise trim it to the window and (RFC 7323 §4.3) take its TSval.
bool connection::impl::check_sequence(wire::tcp_segment& seg, instant now) {
    if (paws_rejects(seg, now)) return false;
    // In SYN-RECEIVED a retransmitted SYN means our SYN,ACK was lost: resend it.
    if (st == state::syn_received && seg.flags.syn && !seg.flags.ack && seg.seq == rcv.irs) {
        send_syn(now);
        return false;
    }
    const std::uint32_t len = seg.sequence_length();
    const bool ok = rcv.acceptable(seg.seq, len);
    // RFC 9293: with a zero window, still process the ACK (and RST) of a segment at rcv.nxt.
    const bool zero_window_ack = !ok && rcv.window() == 0 && seg.seq == rcv.nxt && len > 0;
    if (!ok && !zero_window_ack) {
        if (len > 0 && seg.seq + len <= rcv.nxt) ++stats.duplicate_segs;
        ++stats.in_window_drops;
        if (!seg.flags.rst) {
            if (st == state::time_wait && seg.flags.fin) timers.time_wait = now + 2 * cfg.msl;  // re-ACK, restart 2MSL
            send_ack(now);
        }
        return false;
    }
    rcv.trim_to_window(seg, zero_window_ack);
    // RFC 7323 §4.3: TS.Recent follows the segment that covers Last.ACK.sent.
    if (ts_ok && seg.options.timestamps.has_value() && seg.seq <= last_ack_sent)
        ts_recent = seg.options.timestamps->value;
    return true;
}

/// Second check: RST (RFC 5961 §3.2): an exact match resets, otherwise a challenge ACK.
bool connection::impl::check_reset(const wire::tcp_segment& seg, instant now) {
    if (!seg.flags.rst) return true;
    if (seg.seq != rcv.nxt) {
        challenge_ack(now);
        return false;
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
    return false;
}

// Third check, security (check_security, connection_impl.hpp): RFC 9293 §3.10.7.4 resets a
// connection whose segment's security/compartment differs from the TCB's. tapstack neither
// sends nor honours an IP security option (RFC 791/1108), so every segment matches: the step
// is a constant true, kept so the order of the checks reads as in the RFC.

/// Fourth check: a SYN in a synchronized state (RFC 5961 §4): challenge ACK, drop.
bool connection::impl::check_syn(const wire::tcp_segment& seg, instant now) {
    if (!seg.flags.syn) return true;
    challenge_ack(now);
    return false;
}

/// Fifth check: ACK. Without the ACK bit the segment is dropped; in SYN-RECEIVED an acceptable
/// ACK completes the handshake; then RFC 5961 §5 and the state's own ACK rule.
bool connection::impl::check_ack(const wire::tcp_segment& seg, instant now) {
    if (!seg.flags.ack) return false;
    if (st == state::syn_received) {
        if (seg.ack <= snd.una || seg.ack > snd.max) {
            send_rst(seg.ack, std::nullopt, now);  // <SEQ=SEG.ACK><CTL=RST>
            return false;
        }
        enter(state::established, now);
        snd.wl1 = seg.seq - 1;  // force the window update below
    }
    if (!process_ack(seg, now)) return false;
    return ack_changes_state(seg, now);
}

/// The fifth check's per-state part: our FIN acknowledged moves FIN-WAIT-1, CLOSING and
/// LAST-ACK on; TIME-WAIT answers a retransmitted FIN. False when processing ends here.
bool connection::impl::ack_changes_state(const wire::tcp_segment& seg, instant now) {
    const bool our_fin_acked = snd.fin_sent() && snd.una == snd.max;
    switch (st) {
    case state::fin_wait_1:
        if (our_fin_acked) enter(state::fin_wait_2, now);
        return true;
    case state::closing:
        if (our_fin_acked) enter(state::time_wait, now);
        return true;
    case state::last_ack:
        if (!our_fin_acked) return true;
        enter(state::closed, now);
        return false;
    case state::time_wait:
        if (seg.flags.fin) {  // a retransmitted FIN: ACK it, restart 2MSL
            timers.time_wait = now + 2 * cfg.msl;
            send_ack(now);
        }
        return false;
    default: return true;
    }
}

// Sixth check, URG (check_urg, connection_impl.hpp): ignored. RFC 6093 discourages it, and the
// urgent pointer is never acted on: urgent bytes are delivered in line, as ordinary text.

/// Seventh check: segment text, in the states that take it. Data for an application that closed
/// resets the connection (RFC 1122 4.2.2.13 / RFC 9293 §3.10.4): false then.
bool connection::impl::process_text(const wire::tcp_segment& seg, arrival& a, instant now) {
    if (seg.payload.empty()) return true;
    if (st != state::established && st != state::fin_wait_1 && st != state::fin_wait_2) return true;
    if (app_closed) {
        ++stats.data_after_close_rsts;
        send_rst(snd.max, rcv.nxt + u32(seg.payload.size()), now);
        enter(state::closed, now);
        return false;
    }
    a.ack_now = accept_data(seg.seq, seg.payload, now);
    return true;
}

/// Eighth check: FIN, once everything before it has arrived (a FIN past a hole waits in
/// rcv.ooo_fin until the hole fills).
void connection::impl::check_fin(const wire::tcp_segment& seg, arrival& a, instant now) {
    if (seg.flags.fin) {
        const seq_number fin_at = seg.seq + u32(seg.payload.size());
        if (fin_at == rcv.nxt) {
            process_fin(now);
            // Told of the FIN in this same batch, an application usually closes at once; our
            // FIN then carries this ACK, one frame instead of two (RFC 9293 §3.10.7.4 asks
            // for an ACK, RFC 1122 4.2.3.2 lets it wait until the batch ends).
            if (st == state::close_wait)
                a.fin_ack_may_wait = true;
            else
                a.ack_now = true;
        } else if (fin_at > rcv.nxt) {
            rcv.ooo_fin = fin_at;
            a.ack_now = true;
        }
    }
    if (rcv.ooo_fin && *rcv.ooo_fin == rcv.nxt && !rcv.fin_received) {
        rcv.ooo_fin.reset();
        process_fin(now);
        a.ack_now = true;
    }
}

/// After the checks: send what the new window or the ACKed data let go, and the ACK (at once,
/// piggybacked on that data, delayed, or at the end of the batch).
void connection::impl::finish_arrival(const arrival& a, instant now) {
    if (st == state::closed) return;
    bool ack_now = a.ack_now;
    const std::uint64_t sent_before = emitted;
    output(now);  // new window or ACKed data may let more go
    if (ack_now && emitted != sent_before && last_ack_sent == rcv.nxt) ack_now = false;  // piggybacked
    if (rcv.unacked > 0 || ack_now) maybe_delayed_ack(ack_now, now);
    if (a.fin_ack_may_wait && last_ack_sent != rcv.nxt) ack_at_end_of_batch(now);
}

// ==================================================================== the fifth check's ACK processing

/// RFC 9293 §3.10.7.4 fifth step for synchronized states. Returns false when the segment
/// must be dropped.
bool connection::impl::process_ack(const wire::tcp_segment& seg, instant now) {
    // RFC 5961 §5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT, otherwise a challenge ACK.
    const seq_number low = snd.una - std::max(snd.max_wnd, 1u);
    if (seg.ack > snd.max || seg.ack < low) {
        ++stats.ack_unacceptable;
        challenge_ack(now);
        return false;
    }
    snd.probes_unanswered = 0;  // the peer is alive (it may well still advertise zero)
    const bool newly_sacked = sack_ok && scoreboard.update(seg.options, snd.una, snd.max);
    if (seg.ack > snd.una)
        on_ack_progress(seg, now);
    else if (seg.ack == snd.una)
        on_duplicate_ack(seg, newly_sacked, now);
    // Window update (RFC 9293 §3.10.7.4: SND.WL1 < SEG.SEQ, or equal and SND.WL2 =< SEG.ACK).
    if (snd.window_update_applies(seg) && snd.take_window(seg)) timers.persist.reset();
    return true;
}

/// SND.UNA < SEG.ACK: new data acknowledged.
void connection::impl::on_ack_progress(const wire::tcp_segment& seg, instant now) {
    // The SYN's sequence number is not data: leave it out of congestion accounting.
    const std::uint32_t acked = dist(seg.ack, snd.una) - (snd.una == snd.iss ? 1u : 0u);
    const std::uint32_t flight_before = snd.flight();
    rtt_from_ack(seg, now);
    snd.acknowledge(seg.ack);
    release_acked(seg.ack);
    scoreboard.remove_below(snd.una);
    recovery.on_progress(snd.una);
    timers.retries = 0;
    soft_err = error::none;  // the path works again (Linux clears sk_err_soft in tcp_ack)
    // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
    timers.rto.reset();
    timers.rto_base = now;  // progress: the user timeout (MUST-21) counts from here
    if (snd.una < snd.max) timers.rto = timers.clamp_to_user_timeout(now + rtt.rto());

    if (!recovery.in_recovery()) {
        cc->on_ack(acked, flight_before, now);
    } else if (recovery.is_full_ack(seg.ack)) {  // RFC 6582 §3.2 step 4: full acknowledgment
        recovery.exit();
        cc->on_recovery_exit(snd.flight());
    } else {  // step 5: partial acknowledgment, retransmit the next hole
        cc->on_partial_ack(acked, sack_ok);
        if (!sack_ok) retransmit_from(snd.una, now);
    }
}

/// RTT: timestamps echo (RFC 7323 §4.1), or the one timed segment (Karn/RFC 6298).
void connection::impl::rtt_from_ack(const wire::tcp_segment& seg, instant now) {
    if (ts_ok && seg.options.timestamps && seg.options.timestamps->echo != 0) {
        const std::uint32_t ms = ts_now(now) - seg.options.timestamps->echo;
        if (ms < 0x7fffffffu) rtt_sample(std::chrono::milliseconds{ms});
    } else if (rtt_timing && seg.ack >= rtt_seq) {
        rtt_timing = false;
        rtt_sample(now - rtt_sent);
    }
}

/// The send ring lets go of acknowledged bytes; room for the application unless it is done.
void connection::impl::release_acked(seq_number ack) {
    if (snd.consume_acked(ack) == 0) return;
    if (snd.fin_queued && snd.buf.empty()) release(snd.buf);
    if (!snd.fin_queued) events |= ev::writable;
}

/// SEG.ACK = SND.UNA: perhaps a duplicate ACK, perhaps the start of loss recovery.
void connection::impl::on_duplicate_ack(const wire::tcp_segment& seg, bool newly_sacked, instant now) {
    // RFC 5681 §2 duplicate ACK: no data, no window change, something outstanding.
    const std::uint32_t w = std::uint32_t{seg.window} << snd.wscale;
    const bool dup = snd.max > snd.una && seg.payload.empty() && !seg.flags.syn && !seg.flags.fin && w == snd.wnd;
    if (dup) {
        ++stats.dup_acks_in;
        recovery.on_dup_ack();
        if (recovery.in_recovery() && !sack_ok) cc->on_recovery_dup_ack();
    }
    // RFC 5681 §3.2 (three duplicate ACKs) or RFC 6675 §5 (IsLost(HighACK+1), which also
    // works when the SACK information rides on data segments): enter loss recovery.
    // RFC 6582 §3.2 step 2: not again for losses from the window already recovered.
    if (!recovery.may_enter(snd.una, snd.max)) return;
    if (!recovery.dup_threshold_reached() && !(sack_ok && newly_sacked && scoreboard.is_lost(snd.una, smss))) return;
    recovery.enter(snd.max);
    cc->on_loss(snd.flight(), sack_ok);
    ++stats.fast_retransmits;
    if (sack_ok) ++stats.sack_recoveries;
    rtt_timing = false;
    retransmit_from(snd.una, now);
    recovery.retransmitted_to(snd.una + last_sent_len);
    timers.rto = timers.clamp_to_user_timeout(now + rtt.rto());
}

void connection::impl::rtt_sample(duration r) {
    rtt.sample(r, cfg.min_rto, cfg.max_rto);
    ++stats.rtt_samples;
}

// ==================================================================== text and FIN

/// Text processing (RFC 9293 §3.10.7.4 seventh step) for a segment already trimmed to the
/// window. Returns true when the ACK should go out at once.
bool connection::impl::accept_data(seq_number seq, bytes payload, instant now) {
    (void)now;
    if (payload.empty()) return false;
    // The ring grows to take what arrived within the window (doubling, at most rcv_ring_max()).
    // Refused by the budget, what fits the ring as it is still goes in; the rest is dropped as if
    // lost, and the peer retransmits it.
    const std::size_t need = rcv.buf.size() + dist(seq, rcv.nxt) + payload.size();
    if (need > rcv.buf.capacity() && !grow_ring(rcv.buf, need, rcv_ring_max(), rcv_initial())) {
        ++stats.buffer_memory_drops;
        if (rcv.buf.capacity() == 0) return false;
    }
    using placed = receive_side::placed;
    const placed p = rcv.place(seq, payload, cfg.mss, cfg.max_out_of_order_bytes);
    switch (p) {
    case placed::in_order: events |= ev::readable; return false;
    case placed::filled_hole: events |= ev::readable; return true;  // RFC 5681 §4.2: ACK at once
    case placed::past_ring: return true;
    default: break;
    }
    ++stats.out_of_order_segs;
    if (p == placed::duplicate) ++stats.duplicate_segs;
    if (p == placed::over_limit || p == placed::no_slot) ++stats.out_of_order_drops;
    return true;  // RFC 5681 §4.2: out-of-order data is ACKed immediately (a duplicate ACK)
}

void connection::impl::maybe_delayed_ack(bool now_please, instant now) {
    switch (rcv.ack_policy(now_please, cfg)) {
    case receive_side::ack_due::now: send_ack(now); break;
    case receive_side::ack_due::end_of_batch: ack_at_end_of_batch(now); break;
    case receive_side::ack_due::delayed:
        if (!timers.dack) timers.dack = now + cfg.delayed_ack;
        break;
    case receive_side::ack_due::none: break;
    }
}

// The FIN is processed only when rcv.nxt reaches it (RFC 9293 §3.10.7.4 eighth step).
void connection::impl::process_fin(instant now) {
    rcv.nxt += 1;
    rcv.fin_received = true;
    events |= ev::readable;
    switch (st) {
    case state::syn_received:
    case state::established: enter(state::close_wait, now); break;
    case state::fin_wait_1:
        // Our FIN is acknowledged only if snd.una has passed it: then TIME-WAIT, else CLOSING.
        enter(snd.fin_sent() && snd.una == snd.max ? state::time_wait : state::closing, now);
        break;
    case state::fin_wait_2: enter(state::time_wait, now); break;
    case state::time_wait: timers.time_wait = now + 2 * cfg.msl; break;
    default: break;
    }
}

}  // namespace tapstack::tcp
