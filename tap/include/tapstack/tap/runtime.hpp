#pragma once
// The production edge: a TAP device, a real clock and Boost.Asio driving one tapstack::stack.
//
// Threading contract
// ------------------
// The stack, the runtime and everything built on them (sockets, services, waiters) live on
// ONE thread: the thread running the io_context given to the runtime (run it from exactly one
// thread, or give the runtime a strand-like single-threaded context). Nothing here locks.
// Other threads never touch the stack directly; they hand work over with
// `boost::asio::post(rt.context(), fn)` (or `dispatch`), and fn runs on the stack's thread.
// Socket calls made from such handlers (outside the runtime's own read/timer handlers) may
// change the stack's timers: call `rt.kick()` afterwards so the timer is re-armed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <tapstack/link/offload.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/tap/pcap_writer.hpp>
#include <tapstack/tap/stack_context.hpp>
#include <tapstack/tap/tap_device.hpp>

namespace tapstack::tap {

struct runtime_config {
    stack_config stack;
    /// Replaces stack.seed when set; otherwise the seed comes from std::random_device.
    std::optional<std::uint64_t> seed;
    /// Frames read per readable wakeup before yielding to other handlers (fairness bound).
    std::size_t max_frames_per_wakeup = 64;
    /// Records both directions when set (not owned; must outlive the runtime).
    pcap_writer* pcap = nullptr;
    /// With a device opened with offload (tap_device::offload()): the largest TCP super-segment
    /// the stack sends for the kernel to cut (TSO), set as stack.tcp.gso_max_bytes; 0 sends
    /// MSS-sized segments only. Without offload the stack never sends super-segments.
    std::uint32_t tso_max_bytes = link::max_gso_payload;
};

struct runtime_stats {
    std::uint64_t wakeups = 0;         // readable notifications handled
    std::uint64_t frames_read = 0;
    std::uint64_t bytes_read = 0;
    std::uint64_t read_errors = 0;
    std::uint64_t read_bound_hits = 0; // wakeups that stopped at max_frames_per_wakeup
    std::uint64_t frames_written = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t write_drops = 0;     // EAGAIN/ENOBUFS: the kernel's queue was full
    std::uint64_t write_errors = 0;
    std::uint64_t timer_fires = 0;
    // Offload (a device opened with IFF_VNET_HDR)
    std::uint64_t rx_gso_frames = 0;       // TCP super-frames from the kernel (GSO type TCPV4/6)
    std::uint64_t rx_partial_csum = 0;     // frames marked NEEDS_CSUM
    std::uint64_t rx_csum_completed = 0;   // of those, non-TCP ones whose checksum we filled in
    std::uint64_t tx_gso_frames = 0;       // super-segments written with a GSO header
};

/// Implements stack_context, so tapstack::ip::tcp / udp sockets run over it.
class runtime final : public stack_context {
public:
    /// Takes the device's fd (as a stream_descriptor) and builds the stack. The seed actually
    /// used is in stack().config().seed.
    runtime(boost::asio::io_context& io, tap_device device, const runtime_config& cfg);
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;
    ~runtime();  // not virtual in stack_context: the runtime is final and owned directly

    /// Starts reading and arms the timer. Returns at once; the io_context does the work.
    void start();
    /// Stops reading and timers (pending handlers complete with operation_aborted). The
    /// io_context's run() returns once nothing else is queued on it.
    void stop();

    tapstack::stack& stack() noexcept override { return *stack_; }
    const tapstack::stack& stack() const noexcept { return *stack_; }
    boost::asio::io_context& context() noexcept { return *io_; }
    boost::asio::any_io_executor get_executor() noexcept override { return io_->get_executor(); }
    const std::string& device_name() const noexcept { return device_name_; }
    /// Frames carry a virtio_net_hdr and the kernel does checksums and segmentation.
    bool offload() const noexcept { return vnet_header_; }
    const runtime_stats& stats() const noexcept { return stats_; }

    /// The stack's clock: steady_clock time since the runtime was built, in µs.
    instant now() const noexcept override;
    /// The steady_clock time at which the stack's clock reads `t`.
    std::chrono::steady_clock::time_point to_steady(instant t) const noexcept;

    /// Schedules poll(now) and a timer re-arm on the io_context (coalesced; safe to call from
    /// inside a socket_waiter callback, where calling into the stack again would re-enter it).
    void kick() override;
    /// poll(now) and re-arm right away; only from outside the stack's own calls.
    void poll_now();

private:
    class fd_sink;
    void wait_readable();
    void on_readable();
    void arm(std::optional<instant> deadline);

    boost::asio::io_context* io_;
    std::string device_name_;
    bool vnet_header_ = false;
    boost::asio::posix::stream_descriptor descriptor_;
    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point start_;
    runtime_config cfg_;
    runtime_stats stats_;
    std::unique_ptr<fd_sink> fd_sink_;
    std::unique_ptr<pcap_tee> tee_;
    std::unique_ptr<tapstack::stack> stack_;
    std::vector<std::byte> read_buffer_;
    std::optional<instant> armed_;
    bool running_ = false;
    bool kick_pending_ = false;
    /// Handlers hold a weak_ptr to this: one that was already queued when the runtime died
    /// sees it expired and does nothing.
    std::shared_ptr<runtime*> alive_;
};

}  // namespace tapstack::tap
