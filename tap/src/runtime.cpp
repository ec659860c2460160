#include <tapstack/tap/runtime.hpp>

#include <unistd.h>

#include <cerrno>
#include <random>
#include <boost/asio/post.hpp>

namespace tapstack::tap {

/// The end of the output chain: one write() per frame. A TAP fd accepts whole frames or
/// nothing; when the kernel's queue is full the frame is dropped and counted, like a NIC whose
/// transmit ring is full (the stack's own retransmission deals with it).
class runtime::fd_sink final : public link::frame_sink {
public:
    fd_sink(int fd, runtime_stats& stats) noexcept : fd_{fd}, stats_{&stats} {}
    void send_frame(bytes frame, instant) override {
        for (;;) {
            const ssize_t n = ::write(fd_, frame.data(), frame.size());
            if (n >= 0) {
                ++stats_->frames_written;
                stats_->bytes_written += static_cast<std::uint64_t>(n);
                return;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
                ++stats_->write_drops;
            else
                ++stats_->write_errors;
            return;
        }
    }

private:
    int fd_;
    runtime_stats* stats_;
};

namespace {

std::uint64_t seed_from_os() {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

runtime::runtime(boost::asio::io_context& io, tap_device device, const runtime_config& cfg)
    : io_{&io},
      device_name_{device.name()},
      descriptor_{io, device.release()},
      timer_{io},
      start_{std::chrono::steady_clock::now()},
      cfg_{cfg},
      read_buffer_(65536),
      alive_{std::make_shared<runtime*>(this)} {
    if (cfg_.max_frames_per_wakeup == 0) cfg_.max_frames_per_wakeup = 1;
    cfg_.stack.seed = cfg.seed ? *cfg.seed : seed_from_os();
    fd_sink_ = std::make_unique<fd_sink>(descriptor_.native_handle(), stats_);
    link::frame_sink* out = fd_sink_.get();
    if (cfg_.pcap != nullptr) {
        // Wall-clock timestamps in the file: stack time 0 is the moment the runtime started.
        cfg_.pcap->set_epoch(std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::system_clock::now().time_since_epoch()));
        tee_ = std::make_unique<pcap_tee>(*cfg_.pcap, fd_sink_.get());
        out = tee_.get();
    }
    stack_ = std::make_unique<tapstack::stack>(cfg_.stack, *out);
}

runtime::~runtime() {
    alive_.reset();
    boost::system::error_code ignored;
    timer_.cancel();
    descriptor_.close(ignored);
}

instant runtime::now() const noexcept {
    return instant{std::chrono::duration_cast<duration>(std::chrono::steady_clock::now() - start_)};
}

std::chrono::steady_clock::time_point runtime::to_steady(instant t) const noexcept {
    return start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(t.time_since_epoch());
}

void runtime::start() {
    if (running_) return;
    running_ = true;
    arm(stack_->poll(now()));
    wait_readable();
}

void runtime::stop() {
    running_ = false;
    boost::system::error_code ignored;
    descriptor_.cancel(ignored);
    timer_.cancel();
    armed_.reset();
}

void runtime::wait_readable() {
    std::weak_ptr<runtime*> weak = alive_;
    descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [weak](const boost::system::error_code& ec) {
                               auto self = weak.lock();
                               if (!self || ec == boost::asio::error::operation_aborted) return;
                               runtime& rt = **self;
                               if (!rt.running_) return;
                               if (ec) {
                                   ++rt.stats_.read_errors;
                                   return;  // the fd is gone (device deleted): stop reading
                               }
                               rt.on_readable();
                           });
}

void runtime::on_readable() {
    ++stats_.wakeups;
    const int fd = descriptor_.native_handle();
    std::size_t frames = 0;
    // Drain many frames per wakeup: one epoll round trip per frame would cap the rate.
    while (frames < cfg_.max_frames_per_wakeup) {
        const ssize_t n = ::read(fd, read_buffer_.data(), read_buffer_.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) ++stats_.read_errors;
            break;
        }
        if (n == 0) break;
        ++frames;
        ++stats_.frames_read;
        stats_.bytes_read += static_cast<std::uint64_t>(n);
        const bytes frame{read_buffer_.data(), static_cast<std::size_t>(n)};
        const instant t = now();
        if (cfg_.pcap != nullptr) cfg_.pcap->write(frame, t);
        stack_->receive(frame, t);
    }
    if (frames == cfg_.max_frames_per_wakeup) ++stats_.read_bound_hits;
    arm(stack_->poll(now()));
    if (running_) wait_readable();
}

void runtime::arm(std::optional<instant> deadline) {
    if (!running_) return;
    // Re-arming costs a timerfd system call, and TCP moves its deadlines on almost every
    // segment (delayed ACK, RTO). A timer that fires early is harmless -- the handler polls and
    // arms the real next deadline -- so only an *earlier* deadline re-arms.
    if (!deadline || (armed_ && *armed_ <= *deadline)) return;
    armed_ = deadline;
    timer_.expires_at(to_steady(*deadline));  // cancels a pending wait (operation_aborted)
    std::weak_ptr<runtime*> weak = alive_;
    timer_.async_wait([weak, deadline](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self || ec == boost::asio::error::operation_aborted) return;
        runtime& rt = **self;
        if (!rt.running_ || rt.armed_ != deadline) return;
        ++rt.stats_.timer_fires;
        rt.armed_.reset();
        rt.arm(rt.stack_->poll(rt.now()));
    });
}

void runtime::kick() {
    if (kick_pending_) return;
    kick_pending_ = true;
    std::weak_ptr<runtime*> weak = alive_;
    boost::asio::post(*io_, [weak] {
        auto self = weak.lock();
        if (!self) return;
        (*self)->kick_pending_ = false;
        (*self)->poll_now();
    });
}

void runtime::poll_now() {
    if (!running_) return;
    arm(stack_->poll(now()));
}

}  // namespace tapstack::tap
