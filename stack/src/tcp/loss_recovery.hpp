#pragma once
// Loss recovery state of the sender: duplicate ACK counting (RFC 5681 §3.2), NewReno's recovery
// point (RFC 6582 §3.2) and RFC 6675's HighRxt. It decides when recovery starts and ends; the
// congestion control (congestion.hpp) decides what that does to cwnd, and the connection sends.
#include <cstdint>
#include <tapstack/wire/seq_number.hpp>

namespace tapstack::tcp {

class loss_recovery {
public:
    /// RFC 5681 §3.2: the duplicate ACK that triggers fast retransmit.
    static constexpr std::uint32_t dup_thresh = 3;

    /// A connection opens with initial send sequence number `iss`.
    void reset(seq_number iss) noexcept {
        in_recovery_ = false;
        recover_ = high_rxt_ = iss;
        dupacks_ = 0;
    }
    bool in_recovery() const noexcept { return in_recovery_; }
    /// RFC 6582 "recover": SND.MAX when recovery (or a go-back-N resend) began.
    seq_number recover() const noexcept { return recover_; }
    /// RFC 6675 HighRxt: the end of the highest retransmission of this recovery.
    seq_number high_rxt() const noexcept { return high_rxt_; }
    std::uint32_t dupacks() const noexcept { return dupacks_; }

    /// One more duplicate ACK (RFC 5681 §2).
    void on_dup_ack() noexcept { ++dupacks_; }
    /// An ACK moved SND.UNA: the count of duplicates restarts, and HighRxt is never below SND.UNA.
    void on_progress(seq_number snd_una) noexcept {
        if (high_rxt_ < snd_una) high_rxt_ = snd_una;
        dupacks_ = 0;
    }
    /// RFC 6582 §3.2 step 4: an ACK at or above `recover` acknowledges all that was outstanding.
    bool is_full_ack(seq_number ack) const noexcept { return ack >= recover_; }
    void exit() noexcept { in_recovery_ = false; }

    /// May loss recovery start now? Data outstanding, not in recovery already, and (RFC 6582 §3.2
    /// step 2) not again for losses from the window already recovered; the caller adds the
    /// trigger (three duplicate ACKs or RFC 6675's IsLost).
    bool may_enter(seq_number snd_una, seq_number snd_max) const noexcept {
        return !in_recovery_ && snd_max > snd_una && snd_una >= recover_;
    }
    /// The trigger is RFC 5681 §3.2's: DupThresh duplicate ACKs.
    bool dup_threshold_reached() const noexcept { return dupacks_ >= dup_thresh; }
    /// Recovery starts with SND.MAX = `snd_max`: recovery ends once that is acknowledged.
    void enter(seq_number snd_max) noexcept {
        in_recovery_ = true;
        recover_ = snd_max;
    }
    /// A retransmission of this recovery reached `end`.
    void retransmitted_to(seq_number end) noexcept { high_rxt_ = end; }

    /// A timeout, or a path MTU drop, sends again from SND.UNA (go-back-N): recovery ends, and
    /// RFC 6582 §3.2 step 2's guard covers everything sent so far.
    void restart(seq_number snd_una, seq_number snd_max) noexcept {
        in_recovery_ = false;
        dupacks_ = 0;
        recover_ = snd_max;
        high_rxt_ = snd_una;
    }

    /// RFC 3042 limited transmit: outside recovery, the first two duplicate ACKs each let one
    /// more new segment out, beyond cwnd.
    std::uint32_t limited_transmit_allowance(std::uint32_t smss) const noexcept {
        return !in_recovery_ && dupacks_ < dup_thresh ? dupacks_ * smss : 0u;
    }

private:
    bool in_recovery_ = false;
    seq_number recover_, high_rxt_;
    std::uint32_t dupacks_ = 0;
};

}  // namespace tapstack::tcp
