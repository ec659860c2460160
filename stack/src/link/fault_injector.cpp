#include <tapstack/link/fault_injector.hpp>

#include <cassert>
#include <tapstack/wire/ethernet.hpp>

namespace tapstack::link {

fault_injector::fault_injector(const fault_config& cfg, frame_sink& next)
    : cfg_{cfg}, next_{&next}, rng_{cfg.seed}, held_(cfg.max_frame_size), scratch_(cfg.max_frame_size) {}

void fault_injector::set_probabilities(double drop, double duplicate, double reorder, double corrupt) noexcept {
    cfg_.drop = drop;
    cfg_.duplicate = duplicate;
    cfg_.reorder = reorder;
    cfg_.corrupt = corrupt;
}

void fault_injector::forward(bytes frame, instant now) {
    ++stats_.out_frames;
    next_->send_frame(frame, now);
}

void fault_injector::send_frame(bytes frame, instant now) {
    ++stats_.in_frames;
    if (frame.empty() || frame.size() > cfg_.max_frame_size) {
        if (!frame.empty()) ++stats_.oversize;
        forward(frame, now);
        return;
    }
    // One draw per decision, whatever the probabilities: the sequence of choices for a seed
    // does not shift when a probability changes from zero to non-zero.
    const bool drop = rng_.chance(cfg_.drop);
    const bool corrupt = rng_.chance(cfg_.corrupt);
    const bool hold = rng_.chance(cfg_.reorder);
    const bool duplicate = rng_.chance(cfg_.duplicate);
    if (drop) {
        ++stats_.dropped;
        return;
    }
    if (corrupt && frame.size() > wire::ethernet_header_size) {
        // Past the Ethernet header, so the frame still reaches the stack and the damage must
        // be caught by a length check or an IP/ICMP/UDP/TCP checksum (RFC 1071).
        copy_bytes(scratch_, 0, frame);
        const auto span = static_cast<std::uint32_t>(frame.size() - wire::ethernet_header_size);
        const std::size_t at = wire::ethernet_header_size + rng_.below(span);
        const auto mask = static_cast<std::uint8_t>(1u + rng_.below(255));  // never zero: a real change
        scratch_[at] ^= std::byte{mask};
        frame = bytes{scratch_.data(), frame.size()};
        ++stats_.corrupted;
    }
    if (hold && held_size_ == 0 && !releasing_) {
        copy_bytes(held_, 0, frame);
        held_size_ = frame.size();
        ++stats_.reordered;
        return;
    }
    forward(frame, now);
    if (duplicate) {
        ++stats_.duplicated;
        forward(frame, now);
    }
    flush(now);
}

void fault_injector::flush(instant now) {
    if (held_size_ == 0) return;
    const std::size_t n = held_size_;
    held_size_ = 0;
    releasing_ = true;  // a re-entrant send must not overwrite held_ while it is being read
    forward(bytes{held_.data(), n}, now);
    releasing_ = false;
}

}  // namespace tapstack::link
