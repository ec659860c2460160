#include <tapstack/tap/runtime.hpp>

#include <tapstack/ip/socket_impl.hpp>

#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <random>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

namespace tapstack::tap {

/// The end of the output chain: one write() per frame. A TAP fd accepts whole frames or
/// nothing; when the kernel's queue is full the frame is dropped and counted, like a NIC whose
/// transmit ring is full (the stack's own retransmission deals with it). With a vnet header
/// (offload on) every frame is written behind a virtio_net_hdr in the same writev(): zeros for
/// an ordinary frame, the GSO request for a super-segment, so the kernel cuts it (or, delivering
/// locally, takes it whole: one write for up to 44 segments is the "many frames per wakeup" of
/// the send side -- a TAP fd has no multi-frame write).
class runtime::fd_sink final : public link::frame_sink {
public:
    fd_sink(int fd, bool vnet, runtime_stats& stats) noexcept : fd_{fd}, vnet_{vnet}, stats_{&stats} {}
    void send_frame(bytes frame, instant) override { write_frame(frame, link::vnet_header{}); }
    void send_offloaded(bytes frame, instant now, const link::tx_offload& offload) override {
        if (!vnet_) return frame_sink::send_offloaded(frame, now, offload);  // cut in software
        if (offload.gso != link::gso_kind::none) ++stats_->tx_gso_frames;
        write_frame(frame, offload.to_vnet_header());
    }

private:
    void write_frame(bytes frame, const link::vnet_header& h) {
        std::array<std::byte, link::vnet_header::size> header{};
        h.encode(header);
        std::array<iovec, 2> iov{
            {{header.data(), header.size()},
             {const_cast<std::byte*>(frame.data()), frame.size()}}};  // writev does not write to it
        for (;;) {
            const ssize_t n = vnet_ ? ::writev(fd_, iov.data(), 2) : ::write(fd_, frame.data(), frame.size());
            if (n >= 0) {
                ++stats_->frames_written;
                stats_->bytes_written += static_cast<std::uint64_t>(n) - (vnet_ ? header.size() : 0);
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

    int fd_;
    bool vnet_;
    runtime_stats* stats_;
};

namespace {

/// Written over the first two bytes of the read buffer before each wait: still there after the
/// wait was armed means Asio's first, speculative read found nothing. 0xA5 is no virtio_net_hdr
/// flags value, and a5:5a:... no MAC address a frame on a TAP is sent to; were it ever read,
/// only the read policy of one wakeup would be off.
constexpr std::array<std::byte, 2> unread_mark{std::byte{0xA5}, std::byte{0x5A}};

std::uint64_t seed_from_os() {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

runtime::runtime(boost::asio::io_context& io, tap_device device, const runtime_config& cfg)
    : io_{&io},
      device_name_{device.name()},
      vnet_header_{device.vnet_header()},
      descriptor_{io, device.release()},
      timer_{io},
      start_{std::chrono::steady_clock::now()},
      cfg_{cfg},
      // A GSO super-frame: the vnet header, Ethernet (and a VLAN tag) and a 65,535-byte IP packet.
      read_buffer_(link::vnet_header::size + 18 + 65535 + 64),
      alive_{std::make_shared<runtime*>(this)} {
    if (cfg_.max_frames_per_wakeup == 0) cfg_.max_frames_per_wakeup = 1;
    cfg_.stack.seed = cfg.seed ? *cfg.seed : seed_from_os();
    // Super-segments only go to a TAP that takes them (the fd_sink's software fallback would
    // cut them again, for nothing).
    cfg_.stack.tcp.gso_max_bytes = vnet_header_ ? std::min(cfg.tso_max_bytes, link::max_gso_payload) : 0;
    fd_sink_ = std::make_unique<fd_sink>(descriptor_.native_handle(), vnet_header_, stats_);
    link::frame_sink* out = fd_sink_.get();
    if (cfg_.pcap != nullptr) {
        // Wall-clock timestamps in the file: stack time 0 is the moment the runtime started.
        cfg_.pcap->set_epoch(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()));
        tee_ = std::make_unique<pcap_tee>(*cfg_.pcap, fd_sink_.get());
        out = tee_.get();
    }
    stack_ = std::make_unique<tapstack::stack>(cfg_.stack, *out);
}

runtime::~runtime() {
    // Sockets over this stack may outlive us: sessions kept by their own pending handlers until
    // the io_context shuts down and destroys those. Destroyed then, they must not call into the
    // stack that dies with us (memory_runtime does the same).
    ip::detail::socket_service::context_destroyed(io_->get_executor(), *this);
    // Jobs still in the executor's FIFO (run() stopped before their drain job ran) go to the
    // io_context, which destroys them at its shutdown like any other unrun handler.
    for (std::size_t i = jobs_head_; i < jobs_.size(); ++i) boost::asio::post(*io_, std::move(jobs_[i]));
    jobs_.clear();
    *alive_ = nullptr;
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

/// One read or timer handler (or a posted drain): while it lasts, jobs handed to the runtime's
/// executor and kick()s are only noted; at its end the FIFO runs (outside every core call), the
/// stack is polled again if anything kicked, and the read wait is re-armed. On an exception from
/// a job the rest is left to a posted drain and reading goes on.
struct runtime::batch {
    runtime* rt;
    std::shared_ptr<runtime*> keep;  // *keep turns null if a job destroys the runtime
    bool rearm_read;
    batch(runtime& r, bool read) : rt{&r}, keep{r.alive_}, rearm_read{read} { ++rt->batch_depth_; }
    batch(const batch&) = delete;
    batch& operator=(const batch&) = delete;
    ~batch() {
        if (*keep == nullptr) return;
        --rt->batch_depth_;
        if (rt->batch_depth_ == 0 && rt->kick_in_batch_) {  // only after an exception
            rt->kick_in_batch_ = false;
            rt->kick();
        }
        if (rt->jobs_head_ < rt->jobs_.size()) rt->post_drain();
        if (rearm_read && rt->running_) rt->wait_readable();
    }
    /// Runs the FIFO and the polls its jobs asked for, a bounded number of jobs.
    void finish() {
        runtime& r = *rt;
        const std::size_t bound = 4 * r.cfg_.max_frames_per_wakeup;
        std::size_t ran = 0;
        for (;;) {
            while (r.jobs_head_ < r.jobs_.size() && ran < bound) {
                job j = std::move(r.jobs_[r.jobs_head_++]);
                ++ran;
                ++r.stats_.deferred_run;
                if (rearm_read) ++r.stats_.deferred_in_batch;
                j();  // may queue more jobs (FIFO order) or kick
                if (*keep == nullptr) return;
            }
            if (r.jobs_head_ == r.jobs_.size()) {
                r.jobs_.clear();  // keeps the capacity: no allocation per batch
                r.jobs_head_ = 0;
            }
            if (!r.kick_in_batch_) break;
            r.kick_in_batch_ = false;
            r.poll_now();
            if (ran >= bound) break;
        }
    }
};

void runtime::wait_readable() {
    // The wait is a read: Asio's reactor performs it when epoll reports the fd and calls us
    // with the frame in the same turn. A read keeps the fd's registration as it is, where
    // async_wait costs an epoll_ctl(MOD) each time (Asio re-arms its edge-triggered
    // registration for a wait). Asio tries the read once at once (speculatively): that try is
    // the read that finds the queue empty (EAGAIN), so we need not make one ourselves. If it
    // does find a frame, the completion is posted and the next wakeup reads on (drain_reads_).
    std::weak_ptr<runtime*> weak = alive_;
    std::byte* const first = read_buffer_.data();
    first[0] = unread_mark[0];
    first[1] = unread_mark[1];
    descriptor_.async_read_some(boost::asio::buffer(read_buffer_),
                                [weak](const boost::system::error_code& ec, std::size_t n) {
                                    auto self = weak.lock();
                                    if (!self || *self == nullptr || ec == boost::asio::error::operation_aborted)
                                        return;
                                    (*self)->on_read(ec, n);
                                });
    // The speculative read found a frame (it overwrote the mark): more were queued than the
    // last wakeup read, so the next one reads on until EAGAIN.
    if (first[0] != unread_mark[0] || first[1] != unread_mark[1]) drain_reads_ = true;
}

void runtime::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (!running_) return;
    if (ec) {
        ++stats_.read_errors;
        return;  // the fd is gone (device deleted), or read() returned 0: stop reading
    }
    batch b{*this, true};
    ++stats_.wakeups;
    deliver(n);  // the frame Asio read
    std::size_t frames = 1;
    // Drain many frames per wakeup: one epoll round trip per frame would cap the rate. A TAP
    // read returns one frame however large the buffer, so a short read says nothing about the
    // queue: only EAGAIN does.
    if (drain_reads_) {
        ++stats_.drain_reads;
        const int fd = descriptor_.native_handle();
        while (frames < cfg_.max_frames_per_wakeup) {
            const ssize_t r = ::read(fd, read_buffer_.data(), read_buffer_.size());
            if (r < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) ++stats_.read_errors;
                break;
            }
            if (r == 0) break;
            ++frames;
            deliver(static_cast<std::size_t>(r));
        }
        // Only the first frame was queued: the next wakeup leaves the EAGAIN read to Asio.
        if (frames == 1) drain_reads_ = false;
    }
    if (frames == cfg_.max_frames_per_wakeup) ++stats_.read_bound_hits;
    // The completions the batch produced run first (still outside every core call), then the
    // poll: an ACK the core deferred to the end of the batch (a FIN's, see tcp/connection.cpp)
    // rides on whatever they send, such as the FIN of an application that closes on EOF.
    kick_in_batch_ = true;  // finish() polls once the jobs have run
    b.finish();
}

void runtime::deliver(std::size_t n) {
    ++stats_.frames_read;
    if (!vnet_header_) {
        stats_.bytes_read += n;
        const bytes frame{read_buffer_.data(), n};
        const instant t = now();
        if (cfg_.pcap != nullptr) cfg_.pcap->write(frame, t);
        stack_->receive(frame, t);
        return;
    }
    const auto header = link::vnet_header::parse(bytes{read_buffer_.data(), n});
    if (!header) {
        ++stats_.read_errors;
        return;
    }
    const mutable_bytes frame{read_buffer_.data() + link::vnet_header::size, n - link::vnet_header::size};
    stats_.bytes_read += frame.size();
    link::rx_offload rx = link::rx_offload::from(*header);
    if (rx.gso != link::gso_kind::none) ++stats_.rx_gso_frames;
    if (rx.needs_csum) {
        ++stats_.rx_partial_csum;
        // The core trusts partial TCP checksums (stack::receive with rx_offload); anything
        // else (UDP, 6 bytes into its header) gets its checksum filled in here, then checked.
        if (rx.gso == link::gso_kind::none && header->csum_offset != 16 &&
            link::complete_partial_checksum(frame, header->csum_start, header->csum_offset)) {
            ++stats_.rx_csum_completed;
            rx.needs_csum = false;
        }
    }
    // While capturing, partial TCP checksums are filled in too, so that the capture shows
    // real checksums (Wireshark validates them); the stack still takes the link's word.
    if (cfg_.pcap != nullptr && rx.needs_csum)
        link::complete_partial_checksum(frame, header->csum_start, header->csum_offset);
    const instant t = now();
    if (cfg_.pcap != nullptr) cfg_.pcap->write(frame, t);
    stack_->receive(frame, t, rx);
}

void runtime::on_timer() {
    batch b{*this, false};
    ++stats_.timer_fires;
    armed_.reset();
    kick_in_batch_ = false;
    arm(stack_->poll(now()));
    b.finish();
}

void runtime::defer(job j) {
    jobs_.push_back(std::move(j));
    if (batch_depth_ == 0) post_drain();  // outside a batch: one posted job runs the FIFO
}

void runtime::post_drain() {
    if (drain_posted_) return;
    drain_posted_ = true;
    std::weak_ptr<runtime*> weak = alive_;
    boost::asio::post(*io_, [weak] {
        auto self = weak.lock();
        if (!self || *self == nullptr) return;
        runtime& rt = **self;
        rt.drain_posted_ = false;
        batch b{rt, false};
        b.finish();
    });
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
        if (!self || *self == nullptr || ec == boost::asio::error::operation_aborted) return;
        runtime& rt = **self;
        if (!rt.running_ || rt.armed_ != deadline) return;
        rt.on_timer();
    });
}

void runtime::kick() {
    // Within a batch (called on the runtime's thread, from a core callback or a job the batch
    // runs) the batch polls once it ends: no job, no extra io_context turn.
    if (batch_depth_ > 0) {
        kick_in_batch_ = true;
        return;
    }
    if (kick_pending_) return;
    kick_pending_ = true;
    std::weak_ptr<runtime*> weak = alive_;
    boost::asio::post(*io_, [weak] {
        auto self = weak.lock();
        if (!self || *self == nullptr) return;
        (*self)->kick_pending_ = false;
        (*self)->poll_now();
    });
}

void runtime::poll_now() {
    if (!running_) return;
    arm(stack_->poll(now()));
}

}  // namespace tapstack::tap
