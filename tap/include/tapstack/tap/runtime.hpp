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
#include <type_traits>
#include <utility>
#include <vector>
#include <boost/asio/detail/executor_function.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
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
    std::uint64_t wakeups = 0;  // readable notifications handled
    std::uint64_t frames_read = 0;
    std::uint64_t bytes_read = 0;
    std::uint64_t read_errors = 0;
    std::uint64_t read_bound_hits = 0;  // wakeups that stopped at max_frames_per_wakeup
    std::uint64_t frames_written = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t write_drops = 0;  // EAGAIN/ENOBUFS: the kernel's queue was full
    std::uint64_t write_errors = 0;
    std::uint64_t timer_fires = 0;
    // Offload (a device opened with IFF_VNET_HDR)
    std::uint64_t rx_gso_frames = 0;  // TCP super-frames from the kernel (GSO type TCPV4/6)
    std::uint64_t rx_partial_csum = 0;  // frames marked NEEDS_CSUM
    std::uint64_t rx_csum_completed = 0;  // of those, non-TCP ones whose checksum we filled in
    std::uint64_t tx_gso_frames = 0;  // super-segments written with a GSO header
    // The runtime's executor (see runtime_executor)
    std::uint64_t deferred_run = 0;  // jobs run from the runtime's own queue
    std::uint64_t deferred_in_batch = 0;  // of those, run right after a receive batch or timer
    std::uint64_t drain_reads = 0;  // wakeups that read on past the first frame
};

class runtime;

/// The runtime's executor (what runtime::get_executor() returns, so every socket's): the
/// io_context's, except that work handed to it *on the runtime's thread* with blocking.never
/// (post, what sockets do with their completions) goes to the runtime's own FIFO. The FIFO runs
/// at the end of the runtime's read and timer handlers -- right after a receive batch, outside
/// every core call -- and otherwise from one posted job. An echo's read completion thus runs
/// (and its reply leaves) in the same io_context turn as the frame that completed it, not one
/// turn (one epoll_wait) later. Other threads, and dispatch (blocking.possibly), get the
/// io_context's own behaviour. Every property query, require and prefer goes to the inner
/// executor.
template <class Inner>
class runtime_executor {
public:
    /// `rt` is the runtime's liveness cell: it reads nullptr once the runtime is gone, and the
    /// executor (a socket's, say) then behaves exactly as the io_context's.
    runtime_executor(std::shared_ptr<runtime*> rt, Inner inner) noexcept
        : rt_{std::move(rt)}, inner_{std::move(inner)} {}

    template <class Property>
    requires boost::asio::can_query<const Inner&, const Property&>::value decltype(auto) query(const Property& p) const
        noexcept(boost::asio::is_nothrow_query<const Inner&, const Property&>::value) {
        return boost::asio::query(inner_, p);
    }
    template <class Property>
    requires boost::asio::can_require<const Inner&, const Property&>::value auto require(const Property& p) const {
        using next = std::decay_t<decltype(boost::asio::require(inner_, p))>;
        return runtime_executor<next>{rt_, boost::asio::require(inner_, p)};
    }
    template <class Property>
    requires boost::asio::can_prefer<const Inner&, const Property&>::value auto prefer(const Property& p) const {
        using next = std::decay_t<decltype(boost::asio::prefer(inner_, p))>;
        return runtime_executor<next>{rt_, boost::asio::prefer(inner_, p)};
    }

    template <class F>
    void execute(F&& f) const;

    bool running_in_this_thread() const noexcept { return inner_.running_in_this_thread(); }
    const Inner& inner() const noexcept { return inner_; }
    friend bool operator==(const runtime_executor& a, const runtime_executor& b) noexcept {
        return a.rt_ == b.rt_ && a.inner_ == b.inner_;
    }
    friend bool operator!=(const runtime_executor& a, const runtime_executor& b) noexcept { return !(a == b); }

private:
    std::shared_ptr<runtime*> rt_;
    Inner inner_;
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
    using executor_type = runtime_executor<boost::asio::io_context::executor_type>;
    /// The runtime's executor (see runtime_executor); sockets over this runtime use it.
    boost::asio::any_io_executor get_executor() noexcept override { return executor_type{alive_, io_->get_executor()}; }
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
    template <class>
    friend class runtime_executor;
    using job = boost::asio::detail::executor_function;
    class fd_sink;
    struct batch;
    void wait_readable();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void deliver(std::size_t n);
    void on_timer();
    void arm(std::optional<instant> deadline);
    void defer(job j);
    void run_deferred();
    void post_drain();

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
    // The executor's FIFO (runtime thread only): jobs_[jobs_head_..] are queued.
    std::vector<job> jobs_;
    std::size_t jobs_head_ = 0;
    bool drain_posted_ = false;
    int batch_depth_ = 0;  // inside a read/timer handler or a posted drain
    bool kick_in_batch_ = false;  // kick() during a batch: poll once it ends, nothing posted
    // Reading: after a wakeup whose first frame came with more behind it, read on until EAGAIN;
    // after one that found the queue empty, leave the next read to the one Asio tries when the
    // wait is re-armed (one read(EAGAIN) per wakeup rather than two).
    bool drain_reads_ = true;
    /// Handlers hold a weak_ptr to this: one that was already queued when the runtime died
    /// sees it expired and does nothing.
    std::shared_ptr<runtime*> alive_;
};

template <class Inner>
template <class F>
void runtime_executor<Inner>::execute(F&& f) const {
    // Only the runtime's thread reads the cell (it is written there, by ~runtime).
    if (inner_.running_in_this_thread() && *rt_ != nullptr &&
        boost::asio::query(inner_, boost::asio::execution::blocking) == boost::asio::execution::blocking.never) {
        if constexpr (std::is_same_v<std::decay_t<F>, runtime::job>)
            (*rt_)->defer(std::forward<F>(f));
        else
            (*rt_)->defer(runtime::job{std::forward<F>(f), std::allocator<void>{}});
        return;
    }
    inner_.execute(std::forward<F>(f));
}

}  // namespace tapstack::tap
