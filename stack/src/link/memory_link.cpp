#include <tapstack/link/memory_link.hpp>

#include <algorithm>
#include <cassert>

namespace tapstack::link {

memory_link::queue::queue(memory_link& owner, std::uint64_t& queued_counter, std::size_t frames, std::size_t frame_size)
    : owner_{&owner},
      queued_{&queued_counter},
      frame_size_{frame_size},
      storage_(frames * frame_size),
      lengths_(frames),
      csum_starts_(frames) {}

bool memory_link::queue::push(bytes frame, std::uint16_t csum_start) noexcept {
    if (frame.size() > frame_size_) {
        ++owner_->stats_.oversize_drops;
        return false;
    }
    if (count_ == lengths_.size()) {
        ++owner_->stats_.full_drops;
        return false;
    }
    const std::size_t slot = (head_ + count_) % lengths_.size();
    copy_bytes(storage_, slot * frame_size_, frame);
    lengths_[slot] = frame.size();
    csum_starts_[slot] = csum_start;
    ++count_;
    ++*queued_;
    return true;
}

void memory_link::queue::send_frame(bytes frame, instant) { push(frame, 0); }

void memory_link::queue::send_offloaded(bytes frame, instant now, const tx_offload& off) {
    // Only a whole TCP segment with a partial checksum travels as it is (Linux's loopback and
    // veth: CHECKSUM_PARTIAL crosses to the peer, nobody sums it). Anything else -- a TSO
    // super-frame, a partial UDP checksum, offsets outside the frame, or the option off -- is
    // finished in software as on any other link.
    const bool keep_partial = owner_->cfg_.checksum_offload && off.gso == gso_kind::none && off.needs_csum &&
        off.csum_offset == 16 && off.csum_start != 0 &&
        std::size_t{off.csum_start} + off.csum_offset + 2 <= frame.size();
    if (!keep_partial) return frame_sink::send_offloaded(frame, now, off);
    if (push(frame, off.csum_start)) ++owner_->stats_.partial_checksum_frames;
}

bytes memory_link::queue::front() const noexcept {
    assert(count_ > 0);
    return bytes{storage_.data() + head_ * frame_size_, lengths_[head_]};
}

void memory_link::queue::pop() noexcept {
    assert(count_ > 0);
    head_ = (head_ + 1) % lengths_.size();
    // Empty: start again at the first slot, so a link that rarely holds many frames keeps
    // reusing the same few (cache-warm) slots instead of walking all of its storage.
    if (--count_ == 0) head_ = 0;
}

memory_link::memory_link(const memory_link_config& cfg)
    : cfg_{cfg},
      a_to_b_{*this, stats_.queued_a_to_b, std::max<std::size_t>(cfg.queue_frames, 1), cfg.max_frame_size},
      b_to_a_{*this, stats_.queued_b_to_a, std::max<std::size_t>(cfg.queue_frames, 1), cfg.max_frame_size},
      now_{cfg.start} {}

bool memory_link::deliver_one(queue& q, station_ref& to, std::uint64_t& counter, instant now) {
    if (q.count_ == 0) return false;
    // The slot stays owned by the queue until receive() returns, so frames the receiver sends
    // meanwhile (even into this same queue) land behind it and never overwrite it.
    const bytes frame = q.front();
    const std::uint16_t csum_start = q.csum_starts_[q.head_];
    if (observer_ != nullptr) observer_->send_frame(frame, now);
    ++counter;
    if (csum_start != 0 && to.receive_offloaded != nullptr) {
        // Offloaded: the receiver is told the checksum is partial and does not verify it, as
        // Linux's stack trusts CHECKSUM_PARTIAL from a veth peer.
        rx_offload off;
        off.needs_csum = true;
        to.receive_offloaded(to.object, frame, now, off);
    } else if (to.receive != nullptr) {
        // A station that cannot be told gets the checksum completed, in place (the slot is ours).
        if (csum_start != 0)
            complete_partial_checksum(mutable_bytes{q.storage_.data() + q.head_ * q.frame_size_, frame.size()},
                                      csum_start, 16);
        to.receive(to.object, frame, now);
    }
    q.pop();
    return true;
}

std::size_t memory_link::pump(instant now) {
    assert(!pumping_ && "memory_link::pump called re-entrantly from a receive()");
    if (pumping_) return 0;
    pumping_ = true;
    std::size_t delivered = 0;
    for (;;) {
        const bool to_b = deliver_one(a_to_b_, b_, stats_.delivered_to_b, now);
        const bool to_a = deliver_one(b_to_a_, a_, stats_.delivered_to_a, now);
        if (!to_b && !to_a) break;
        delivered += std::size_t{to_b} + std::size_t{to_a};
        if (delivered > cfg_.max_frames_per_instant) {
            ++stats_.storms;
            break;
        }
    }
    pumping_ = false;
    return delivered;
}

void memory_link::settle() {
    std::uint64_t budget = cfg_.max_frames_per_instant;
    for (;;) {
        const std::size_t n = pump(now_);
        if (a_.poll != nullptr) deadline_a_ = a_.poll(a_.object, now_);
        if (b_.poll != nullptr) deadline_b_ = b_.poll(b_.object, now_);
        if (a_to_b_.count_ == 0 && b_to_a_.count_ == 0) return;
        if (n >= budget) {
            ++stats_.storms;
            return;
        }
        budget -= n;
    }
}

std::optional<instant> memory_link::next_deadline() const noexcept {
    if (deadline_a_ && deadline_b_) return std::min(*deadline_a_, *deadline_b_);
    return deadline_a_ ? deadline_a_ : deadline_b_;
}

void memory_link::advance_to(instant t) noexcept { now_ = std::max(now_, t); }

bool memory_link::run_until(const std::function<bool()>& pred, instant limit) {
    for (;;) {
        settle();
        if (pred()) return true;
        // A deadline at or before now (a stack that did not clear a fired timer) must not
        // stall the clock: step at least one tick.
        const auto next = next_deadline();
        const instant step = next ? std::max(*next, now_ + duration{1}) : instant::max();
        if (step > limit) {
            if (now_ < limit) {
                now_ = limit;
                settle();
            }
            return pred();
        }
        now_ = step;
    }
}

void memory_link::run_for(duration d) {
    const instant limit = now_ + d;
    run_until([] { return false; }, limit);
}

}  // namespace tapstack::link
