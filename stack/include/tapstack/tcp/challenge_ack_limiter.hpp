#pragma once
// RFC 5961 §7: the budget of challenge ACKs. One limiter serves a whole stack (the socket layer
// hands it to every connection, as Linux keeps one per network namespace), so N connections
// together send no more than the limit per second: an attacker gains nothing by opening more.
#include <chrono>
#include <cstdint>
#include <tapstack/base/time.hpp>

namespace tapstack::tcp {

class challenge_ack_limiter {
public:
    /// True when one more challenge ACK may leave at `now`: at most `per_second` in any window
    /// of one second that begins with a challenge.
    bool allow(instant now, std::uint32_t per_second) noexcept {
        if (!started_ || now - window_start_ >= std::chrono::seconds{1}) {
            started_ = true;
            window_start_ = now;
            sent_ = 0;
        }
        if (sent_ >= per_second) return false;
        ++sent_;
        return true;
    }

private:
    instant window_start_{};
    std::uint32_t sent_ = 0;
    bool started_ = false;
};

}  // namespace tapstack::tcp
