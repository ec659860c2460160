#pragma once
// A seeded frame_sink middleware that damages traffic on purpose: drop, duplicate, reorder and
// corrupt, each with its own probability. Tests and the demo put it between a stack and its
// link to exercise retransmission, duplicate detection and checksum verification reproducibly.
#include <cstddef>
#include <cstdint>
#include <vector>
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/random.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/link/frame_sink.hpp>

namespace tapstack::link {

struct fault_config {
    double drop = 0.0;  // probability a frame is discarded
    double duplicate = 0.0;  // probability a forwarded frame is sent twice, back to back
    double reorder = 0.0;  // probability a frame is held back and sent after the next one
    double corrupt = 0.0;  // probability one byte past the Ethernet header is flipped
    std::uint64_t seed = 1;
    /// Frames longer than this pass through untouched (never held or corrupted): the buffers
    /// for held and corrupted copies are this size, allocated once at construction.
    std::size_t max_frame_size = 65535;
};

struct fault_stats {
    std::uint64_t in_frames = 0;
    std::uint64_t out_frames = 0;  // every send to the next sink, duplicates included
    std::uint64_t dropped = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;  // frames held back
    std::uint64_t corrupted = 0;
    std::uint64_t oversize = 0;  // passed through untouched: larger than max_frame_size
};

/// Decisions per frame, in this order: drop; corrupt (a copy, never the caller's buffer);
/// reorder (hold the frame if nothing is held yet); forward, duplicate; then release a held
/// frame behind it. Held frames also leave on flush(now). Deterministic for a given seed and
/// frame sequence. Not thread-safe (nothing in the core is).
class fault_injector final : public frame_sink {
public:
    fault_injector(const fault_config& cfg, frame_sink& next);
    fault_injector(const fault_injector&) = delete;
    fault_injector& operator=(const fault_injector&) = delete;

    void send_frame(bytes frame, instant now) override;
    /// Sends the held frame, if any.
    void flush(instant now);
    bool holding() const noexcept { return held_size_ != 0; }

    void set_next(frame_sink& next) noexcept { next_ = &next; }
    /// Changes the probabilities (the random sequence continues; the buffers stay).
    void set_probabilities(double drop, double duplicate, double reorder, double corrupt) noexcept;
    const fault_config& config() const noexcept { return cfg_; }
    const fault_stats& stats() const noexcept { return stats_; }

private:
    void forward(bytes frame, instant now);

    fault_config cfg_;
    frame_sink* next_;
    random_source rng_;
    std::vector<std::byte> held_;  // cfg_.max_frame_size bytes
    std::size_t held_size_ = 0;  // 0: nothing held (frames are never empty when held)
    bool releasing_ = false;
    std::vector<std::byte> scratch_;  // the corrupted copy
    fault_stats stats_;
};

}  // namespace tapstack::link
