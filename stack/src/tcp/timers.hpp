#pragma once
// A connection's timers (RFC 9293 §3.8), as data: each one an optional deadline, the earliest of
// them the connection's deadline. Also the bookkeeping that decides when retransmissions and
// keepalive probes give up (R2, RFC 9293 §3.8.3; RFC 1122 4.2.3.6). What a timer does when it
// fires is the connection's business (timers.cpp).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <tapstack/base/time.hpp>

namespace tapstack::tcp {

struct timer_set {
    std::optional<instant> rto;  // retransmission (RFC 6298)
    std::optional<instant> dack;  // delayed ACK (RFC 1122 4.2.3.2)
    std::optional<instant> persist;  // zero-window probe (RFC 9293 §3.8.6.1)
    std::optional<instant> keepalive;  // RFC 1122 4.2.3.6
    std::optional<instant> time_wait;  // 2*MSL (RFC 9293 §3.4.2), or an orphan's FIN-WAIT-2 limit

    // Retransmissions (of SYN or data) since the last ACK that made progress.
    std::uint32_t retries = 0;
    // RFC 9293 MUST-21: per-connection R2 as a user timeout (RFC 5482); zero: cfg.max_retries.
    // rto_base is when the current stretch without an advancing ACK began (data sent with
    // nothing outstanding, or the last ACK that moved SND.UNA).
    duration user_timeout{};
    instant rto_base{};
    std::uint32_t keepalive_sent = 0;
    bool keepalive_on = false;

    static bool due(const std::optional<instant>& t, instant now) noexcept { return t && *t <= now; }

    /// Everything off; counters and the keepalive option stay.
    void stop_all() noexcept { rto = dack = persist = keepalive = time_wait = std::nullopt; }
    /// The earliest pending deadline, instant::max() when none.
    instant earliest() const noexcept {
        instant d = instant::max();
        const auto earliest = [&d](const std::optional<instant>& t) {
            if (t && *t < d) d = *t;
        };
        earliest(rto);
        earliest(dack);
        earliest(persist);
        earliest(keepalive);
        earliest(time_wait);
        return d;
    }
    /// Like Linux's tcp_clamp_rto_to_user_timeout: never sleep past the user timeout, so the
    /// connection fails when it is due, not at the next backed-off RTO (up to max_rto later).
    instant clamp_to_user_timeout(instant at) const noexcept {
        if (user_timeout <= duration{}) return at;
        return std::min(at, rto_base + user_timeout);
    }
    /// Whether a stretch of unanswered transmissions that began at `since` has outlived the user
    /// timeout (which must be set: user_timeout > 0).
    bool user_timeout_expired(instant since, instant now) const noexcept { return now - since >= user_timeout; }
    /// A segment arrived (the peer is alive) or keepalive was switched on: the idle clock restarts.
    void restart_keepalive(instant now, duration idle) noexcept {
        keepalive_sent = 0;
        keepalive = now + idle;
    }
};

}  // namespace tapstack::tcp
