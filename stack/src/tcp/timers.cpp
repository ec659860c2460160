// What the timers do when they fire (RFC 9293 §3.8): retransmission (RFC 6298, RFC 5681 §3.1,
// R1/R2 of RFC 1122 4.2.3.5 / RFC 9293 MUST-20/21/23), zero-window probes (§3.8.6.1), delayed
// ACKs (RFC 1122 4.2.3.2), keepalive (RFC 1122 4.2.3.6) and TIME-WAIT (§3.4.2). The deadlines
// themselves are data (timers.hpp).
#include <algorithm>

#include "connection_impl.hpp"

namespace tapstack::tcp {

using detail::synchronized;
using ev = connection_observer;

void connection::on_timer(instant now) {
    auto& m = *impl_;
    if (timer_set::due(m.timers.time_wait, now)) {
        m.timers.time_wait.reset();
        if (m.st == state::fin_wait_2) ++m.stats.fin_wait_2_timeouts;
        m.enter(state::closed, now);
        m.flush_events();
        return;
    }
    if (timer_set::due(m.timers.rto, now)) m.on_rto(now);
    if (m.st == state::closed) return m.flush_events();
    if (timer_set::due(m.timers.persist, now)) m.on_persist(now);
    if (timer_set::due(m.timers.dack, now)) {
        m.timers.dack.reset();
        ++m.stats.delayed_acks;
        m.send_ack(now);
    }
    if (timer_set::due(m.timers.keepalive, now)) m.on_keepalive(now);
    m.flush_events();
}

instant connection::earliest_timer() const noexcept { return impl_->timers.earliest(); }

std::optional<instant> connection::deadline() const noexcept {
    const instant d = earliest_timer();
    if (d == instant::max()) return std::nullopt;
    return d;
}

void connection::set_keep_alive(bool on, instant now) noexcept {
    auto& m = *impl_;
    m.timers.keepalive_on = on;
    m.timers.keepalive_sent = 0;
    if (on && synchronized(m.st) && m.st != state::time_wait)
        m.timers.keepalive = now + m.cfg.keepalive_idle;
    else
        m.timers.keepalive.reset();
}

void connection::set_user_timeout(duration timeout) noexcept {
    auto& m = *impl_;
    m.timers.user_timeout = timeout > duration{} ? timeout : duration{};
    // A running timer keeps its expiry, now clamped (a longer timeout takes effect at the next
    // retransmission; on_rto checks the deadline itself).
    if (m.timers.rto && synchronized(m.st)) m.timers.rto = m.timers.clamp_to_user_timeout(*m.timers.rto);
}

duration connection::user_timeout() const noexcept { return impl_->timers.user_timeout; }

// ==================================================================== retransmission

void connection::impl::on_rto(instant now) {
    timers.rto.reset();
    if (st == state::syn_sent || st == state::syn_received) return on_syn_rto(now);
    if (!can_send_data() || snd.una == snd.max) return;
    if (r2_reached(timers.rto_base, timers.retries, now)) {
        fail(error::timed_out, now);
        return;
    }
    ++timers.retries;
    ++stats.timeouts;
    // RFC 6298 §5.4-5.6 and RFC 5681 §3.1: back off, collapse cwnd, resend from snd.una.
    cc->on_timeout(snd.flight());
    rtt.backoff(cfg.max_rto);
    rtt_timing = false;
    recovery.restart(snd.una, snd.max);  // RFC 6582 §3.2 step 2 guard after a timeout
    snd.nxt = snd.una;
    retransmit_from(snd.una, now);
    snd.nxt = snd.una + last_sent_len;
    timers.rto = timers.clamp_to_user_timeout(now + rtt.rto());
    note_r1();
}

/// The handshake's RTO: resend the SYN (or SYN,ACK) up to config.max_syn_retries times
/// (RFC 9293 MUST-23: at least three minutes).
void connection::impl::on_syn_rto(instant now) {
    if (timers.retries >= cfg.max_syn_retries) {
        ++stats.attempt_fails;
        fail(error::timed_out, now);
        return;
    }
    ++timers.retries;
    ++stats.timeouts;
    ++stats.syn_retransmits;
    ++stats.retrans_segs;
    rtt.backoff(cfg.max_rto);
    send_syn(now);
    // Negative advice for an active open only: a SYN-RECEIVED child may answer a spoofed
    // SYN, and the next hop is no less reachable for it.
    if (st == state::syn_sent) note_r1();
}

/// RFC 9293 MUST-20 / RFC 1122 4.2.3.5: when the same segment has been retransmitted R1
/// times, tell IP (once per stretch: `retries` restarts when an ACK makes progress). The
/// event goes out after the retransmission itself, when the caller flushes events.
void connection::impl::note_r1() {
    if (cfg.r1_retries == 0 || timers.retries != cfg.r1_retries) return;
    ++stats.negative_advice;
    events |= ev::retransmit_trouble;
}

/// R2 (RFC 9293 §3.8.3, MUST-20/21) for a stretch of unanswered retransmissions or probes
/// that began at `since`: the per-connection user timeout when set (counted when it fires),
/// else a count, smaller for an orphan (the application closed; config.hpp).
bool connection::impl::r2_reached(instant since, std::uint32_t sent, instant now) {
    if (timers.user_timeout > duration{}) {
        if (!timers.user_timeout_expired(since, now)) return false;
        ++stats.user_timeouts;
        return true;
    }
    return sent >= (app_closed ? std::min(cfg.max_orphan_retries, cfg.max_retries) : cfg.max_retries);
}

// ==================================================================== persist and keepalive

void connection::impl::on_persist(instant now) {
    timers.persist.reset();
    if (!can_send_data()) return;
    if (snd.wnd > 0 || snd.nxt >= snd.data_end()) return;
    // A peer that stopped answering probes is gone (RFC 9293 MUST-26 protects only one
    // that keeps ACKing them): R2 applies, as to retransmissions (Linux's tcp_probe_timer).
    if (snd.probes_unanswered == 0) snd.probe_base = now;
    if (r2_reached(snd.probe_base, snd.probes_unanswered, now)) {
        fail(error::timed_out, now);
        return;
    }
    ++snd.probes_unanswered;
    ++stats.zero_window_probes;
    send_probe(now);
    // RFC 9293 §3.8.6.1 / RFC 1122 4.2.2.17: probe for as long as the peer answers,
    // backing off exponentially.
    timers.persist = now + snd.back_off_persist(rtt.rto(), cfg.max_rto);
}

void connection::impl::on_keepalive(instant now) {
    timers.keepalive.reset();
    if (!timers.keepalive_on || !synchronized(st) || st == state::time_wait) return;
    if (snd.una != snd.max) {  // data in flight: the retransmission timer covers liveness
        timers.keepalive = now + cfg.keepalive_idle;
        return;
    }
    if (timers.keepalive_sent >= cfg.keepalive_probes) {
        fail(error::timed_out, now);
        return;
    }
    ++timers.keepalive_sent;
    ++stats.keepalive_probes;
    send_probe(now);  // RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT-1, no data
    timers.keepalive = now + cfg.keepalive_interval;
}

}  // namespace tapstack::tcp
