#pragma once
// Congestion control behind a small interface, so algorithms can be swapped per connection.
// NewReno (RFC 5681 + RFC 6582) is the first implementation; the connection keeps the loss
// detection (dup ACKs, SACK scoreboard) and tells the algorithm what happened.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <tapstack/base/time.hpp>

namespace tapstack::tcp {

class congestion_control {
public:
    virtual ~congestion_control() = default;
    /// A connection (re)starts: RFC 6928 initial window from the sender MSS.
    virtual void reset(std::uint32_t smss, std::uint32_t initial_window_segments) = 0;
    /// New data acknowledged outside loss recovery.
    virtual void on_ack(std::uint32_t acked, std::uint32_t flight, instant now) = 0;
    /// Loss detected by duplicate ACKs or SACK: entering fast recovery. `sack`: RFC 6675 recovery
    /// (no artificial inflation) rather than NewReno's.
    virtual void on_loss(std::uint32_t flight, bool sack) = 0;
    /// NewReno fast recovery (RFC 6582 §3.2 step 3): one more duplicate ACK.
    virtual void on_recovery_dup_ack() = 0;
    /// RFC 6582 §3.2 step 5: partial ACK of `acked` bytes during recovery.
    virtual void on_partial_ack(std::uint32_t acked, bool sack) = 0;
    /// Full ACK: recovery ends (RFC 6582 §3.2 step 4 option 1).
    virtual void on_recovery_exit(std::uint32_t flight) = 0;
    /// Retransmission timeout (RFC 5681 §3.1 eq. 4, then cwnd = loss window).
    virtual void on_timeout(std::uint32_t flight) = 0;
    virtual std::uint32_t cwnd() const noexcept = 0;
    virtual std::uint32_t ssthresh() const noexcept = 0;
    /// The sender MSS went down (path MTU discovery): later increments, floors and the loss
    /// window count in the new size.
    virtual void set_mss(std::uint32_t smss) noexcept { (void)smss; }
    /// Pacing hook: the earliest time the next segment may leave, or nothing to send at once.
    virtual std::optional<instant> earliest_send(instant now) const noexcept {
        (void)now;
        return std::nullopt;
    }
};

class newreno final : public congestion_control {
public:
    void reset(std::uint32_t smss, std::uint32_t initial_window_segments) override {
        smss_ = smss;
        // RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)), with 10 the configurable count.
        cwnd_ = std::min(initial_window_segments * smss, std::max(2 * smss, 14600u));
        if (cwnd_ < smss) cwnd_ = smss;
        ssthresh_ = 0x7fffffffu;  // RFC 5681 §3.1: "arbitrarily high"
        ca_acc_ = 0;
    }
    void on_ack(std::uint32_t acked, std::uint32_t, instant) override {
        if (cwnd_ < ssthresh_) {
            cwnd_ += std::min(acked, smss_);  // RFC 5681 §3.1 eq. 2 (appropriate byte counting, L=1)
        } else {
            // RFC 5681 §3.1 eq. 3, byte-counted: one SMSS per cwnd of acknowledged bytes.
            ca_acc_ += acked;
            if (ca_acc_ >= cwnd_) {
                ca_acc_ -= cwnd_;
                cwnd_ += smss_;
            }
        }
    }
    void on_loss(std::uint32_t flight, bool sack) override {
        ssthresh_ = std::max(flight / 2, 2 * smss_);  // RFC 5681 §3.1 eq. 4
        cwnd_ = sack ? ssthresh_ : ssthresh_ + 3 * smss_;  // RFC 6675 §5 step 4.2 / RFC 5681 §3.2 step 3
        ca_acc_ = 0;
    }
    void on_recovery_dup_ack() override { cwnd_ += smss_; }
    void on_partial_ack(std::uint32_t acked, bool sack) override {
        if (sack) return;  // RFC 6675: pipe, not cwnd, accounts for the recovery
        cwnd_ = cwnd_ > acked ? cwnd_ - acked : 0;
        if (acked >= smss_) cwnd_ += smss_;
        cwnd_ = std::max(cwnd_, smss_);
    }
    void on_recovery_exit(std::uint32_t flight) override {
        cwnd_ = std::min(ssthresh_, std::max(flight, smss_) + smss_);
        cwnd_ = std::max(cwnd_, std::min(ssthresh_, 2 * smss_));
    }
    void on_timeout(std::uint32_t flight) override {
        ssthresh_ = std::max(flight / 2, 2 * smss_);
        cwnd_ = smss_;  // RFC 5681 §3.1: loss window LW = 1 SMSS
        ca_acc_ = 0;
    }
    std::uint32_t cwnd() const noexcept override { return cwnd_; }
    std::uint32_t ssthresh() const noexcept override { return ssthresh_; }
    void set_mss(std::uint32_t smss) noexcept override { smss_ = smss; }

private:
    std::uint32_t smss_ = 536;
    std::uint32_t cwnd_ = 0;
    std::uint32_t ssthresh_ = 0x7fffffffu;
    std::uint32_t ca_acc_ = 0;
};

}  // namespace tapstack::tcp
