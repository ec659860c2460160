// ICMP errors about our segments (RFC 9293 §3.9.2.2 MUST-54..56, RFC 1122 4.2.3.9, RFC 5927)
// and path MTU discovery (RFC 1191, RFC 8201).
#include <algorithm>

#include "connection_impl.hpp"

namespace tapstack::tcp {

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

/// Lowers the path MSS. True when the send MSS went down: only then can a segment we sent
/// have been too big, and only then is data in flight worth sending again.
bool connection::impl::lower_path_mss(std::uint16_t mss) noexcept {
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
void connection::impl::resend_after_mtu_drop(instant now) {
    if (!can_send_data() || snd.una == snd.max) return;
    rtt_timing = false;  // Karn: the timed segment goes again
    recovery.restart(snd.una, snd.max);  // RFC 6582 §3.2 step 2 guard, as after a timeout
    snd.nxt = snd.una;
    output(now);
}

}  // namespace tapstack::tcp
