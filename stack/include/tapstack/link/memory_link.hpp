#pragma once
// Two stacks in one process, joined by a wire made of two frame queues, on a virtual clock.
// Tests, replay and benchmarks use it to run a client stack against a server stack with no
// kernel, no fds and no sleeps: time moves only when both sides are idle, straight to the
// earliest deadline.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/link/frame_sink.hpp>
#include <tapstack/link/offload.hpp>

namespace tapstack::link {

struct memory_link_config {
    std::size_t queue_frames = 256;  // per direction; a full queue drops (like a NIC ring)
    std::size_t max_frame_size = 1518;  // larger frames are dropped and counted
    instant start{};  // the virtual clock's first reading
    /// Deliveries allowed at one instant before settle() gives up: two stacks answering each
    /// other forever (a bug) must end a test, not hang it.
    std::uint64_t max_frames_per_instant = 1'000'000;
    /// Checksum offload, as between two Linux namespaces joined by veth: a TCP frame sent with
    /// send_offloaded and a partial checksum (tx_offload::needs_csum, csum_offset 16; see
    /// stack_config::tx_checksum_offload) is queued as it is, partial, and delivered through
    /// receive(frame, now, rx_offload{needs_csum = true}): nobody sums it, the receiver trusts it
    /// because the frame never crossed a wire. Off: send_offloaded completes every checksum in
    /// software first (frame_sink's default) and frames arrive through receive(frame, now).
    /// Corruption would then go unnoticed, exactly as on veth: keep this off wherever a fault
    /// injector corrupts frames (it completes the checksum itself before it flips bits, so a
    /// stack with tx_checksum_offload behind an injector is still caught by the receiver).
    bool checksum_offload = false;
};

struct memory_link_stats {
    std::uint64_t queued_a_to_b = 0;
    std::uint64_t queued_b_to_a = 0;
    std::uint64_t delivered_to_a = 0;
    std::uint64_t delivered_to_b = 0;
    std::uint64_t full_drops = 0;
    std::uint64_t oversize_drops = 0;
    std::uint64_t storms = 0;  // times max_frames_per_instant was hit
    std::uint64_t partial_checksum_frames = 0;  // queued with checksum_offload, checksum left partial
};

/// Usage:
///     link::memory_link wire;
///     tapstack::stack a{cfg_a, wire.side_a()}, b{cfg_b, wire.side_b()};
///     wire.attach(a, b);
///     ... a.udp_send_to(..., wire.now()) ...
///     ASSERT_TRUE(wire.run_until([&] { return got_reply; }, wire.now() + 5s));
/// Anything with `receive(bytes, instant)` and `std::optional<instant> poll(instant)` can be
/// attached, so unit tests can put a scripted peer on one side. With checksum_offload, a
/// partial-checksum frame goes to `receive(bytes, instant, const rx_offload&)` when the station
/// has one; a station without it gets the frame with its checksum completed.
/// Frames are copied into preallocated rings when sent and delivered later by pump(), never
/// re-entrantly from inside a send_frame() call. Not thread-safe.
class memory_link {
public:
    explicit memory_link(const memory_link_config& cfg = {});
    memory_link(const memory_link&) = delete;
    memory_link& operator=(const memory_link&) = delete;

    /// Give side_a() to the stack on side a as its output, side_b() to the one on side b.
    frame_sink& side_a() noexcept { return a_to_b_; }
    frame_sink& side_b() noexcept { return b_to_a_; }

    template <class A, class B>
    void attach(A& a, B& b) noexcept {
        a_ = station_ref::of(a);
        b_ = station_ref::of(b);
    }
    /// Sees every frame as it is delivered (e.g. a pcap tee with a null next sink). With
    /// checksum_offload a TCP frame is seen as it travels, its checksum partial (as tcpdump on
    /// a veth shows "incorrect" checksums).
    void set_observer(frame_sink* observer) noexcept { observer_ = observer; }

    /// Delivers queued frames, oldest first and alternating sides, until both queues are
    /// empty; frames sent while delivering are queued behind. Returns how many were delivered.
    std::size_t pump(instant now);
    /// pump() and poll() both sides at `now` until nothing more happens at this instant.
    void settle();
    /// Runs on the virtual clock until pred() holds (true) or the clock would pass `limit`
    /// (false; the clock is then left at `limit`). pred is checked whenever things settle.
    bool run_until(const std::function<bool()>& pred, instant limit);
    /// Runs until the clock reaches now() + d.
    void run_for(duration d);

    instant now() const noexcept { return now_; }
    /// Moves the clock forward without delivering anything (time never goes back).
    void advance_to(instant t) noexcept;
    /// The earliest deadline either side reported at its last poll.
    std::optional<instant> next_deadline() const noexcept;
    std::size_t queued_a_to_b() const noexcept { return a_to_b_.count_; }
    std::size_t queued_b_to_a() const noexcept { return b_to_a_.count_; }
    const memory_link_stats& stats() const noexcept { return stats_; }

private:
    struct station_ref {
        void* object = nullptr;
        void (*receive)(void*, bytes, instant) = nullptr;
        std::optional<instant> (*poll)(void*, instant) = nullptr;
        void (*receive_offloaded)(void*, bytes, instant, const rx_offload&) = nullptr;  // may stay null
        template <class S>
        static station_ref of(S& s) noexcept {
            station_ref r{&s, [](void* o, bytes f, instant t) { static_cast<S*>(o)->receive(f, t); },
                          [](void* o, instant t) -> std::optional<instant> { return static_cast<S*>(o)->poll(t); }};
            if constexpr (requires(S & x, bytes f, instant t, const rx_offload& off) { x.receive(f, t, off); })
                r.receive_offloaded = [](void* o, bytes f, instant t, const rx_offload& off) {
                    static_cast<S*>(o)->receive(f, t, off);
                };
            return r;
        }
    };

    class queue final : public frame_sink {
    public:
        queue(memory_link& owner, std::uint64_t& queued_counter, std::size_t frames, std::size_t frame_size);
        void send_frame(bytes frame, instant now) override;
        /// With checksum_offload, keeps a partial TCP checksum partial; else frame_sink's default.
        void send_offloaded(bytes frame, instant now, const tx_offload& offload) override;
        bool push(bytes frame, std::uint16_t csum_start) noexcept;
        bytes front() const noexcept;
        void pop() noexcept;
        memory_link* owner_;
        std::uint64_t* queued_;
        std::size_t frame_size_;
        std::vector<std::byte> storage_;
        std::vector<std::size_t> lengths_;
        /// Per slot: 0 for a frame with a full checksum, else the offset of the TCP header whose
        /// checksum is partial (an Ethernet frame's TCP header never starts at 0).
        std::vector<std::uint16_t> csum_starts_;
        std::size_t head_ = 0;
        std::size_t count_ = 0;
    };

    bool deliver_one(queue& q, station_ref& to, std::uint64_t& counter, instant now);

    memory_link_config cfg_;
    memory_link_stats stats_;
    queue a_to_b_;
    queue b_to_a_;
    station_ref a_;
    station_ref b_;
    frame_sink* observer_ = nullptr;
    instant now_;
    std::optional<instant> deadline_a_;
    std::optional<instant> deadline_b_;
    bool pumping_ = false;
};

}  // namespace tapstack::link
