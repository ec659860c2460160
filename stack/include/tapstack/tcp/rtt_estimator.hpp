#pragma once
// RFC 6298 retransmission timer computation.
#include <algorithm>
#include <tapstack/base/time.hpp>

namespace tapstack::tcp {

class rtt_estimator {
public:
    void reset(duration initial_rto) noexcept {
        rto_ = initial_rto;
        srtt_ = rttvar_ = duration{};
        has_sample_ = false;
    }
    /// RFC 6298 §2.2 (first measurement) and §2.3 (later ones), alpha 1/8, beta 1/4, K 4.
    void sample(duration r, duration min_rto, duration max_rto) noexcept {
        if (r < duration{}) return;
        if (!has_sample_) {
            srtt_ = r;
            rttvar_ = r / 2;
            has_sample_ = true;
        } else {
            const duration err = srtt_ > r ? srtt_ - r : r - srtt_;
            rttvar_ = (3 * rttvar_ + err) / 4;
            srtt_ = (7 * srtt_ + r) / 8;
        }
        // RFC 6298 §2.3: RTO = SRTT + max(G, K*RTTVAR); G is our 1 ms timestamp granularity.
        const duration g = std::chrono::milliseconds{1};
        rto_ = std::clamp(srtt_ + std::max(g, 4 * rttvar_), min_rto, max_rto);
    }
    /// RFC 6298 §5.5: back off the timer (doubling), bounded by max_rto (§2.5).
    void backoff(duration max_rto) noexcept { rto_ = std::min(rto_ * 2, max_rto); }
    duration rto() const noexcept { return rto_; }
    duration srtt() const noexcept { return srtt_; }
    duration rttvar() const noexcept { return rttvar_; }
    bool has_sample() const noexcept { return has_sample_; }

private:
    duration rto_{std::chrono::seconds{1}};
    duration srtt_{};
    duration rttvar_{};
    bool has_sample_ = false;
};

}  // namespace tapstack::tcp
