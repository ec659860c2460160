#include <tapstack/tap/runtime.hpp>

#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <random>
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
        std::array<iovec, 2> iov{{{header.data(), header.size()},
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
        if (!vnet_header_) {
            stats_.bytes_read += static_cast<std::uint64_t>(n);
            const bytes frame{read_buffer_.data(), static_cast<std::size_t>(n)};
            const instant t = now();
            if (cfg_.pcap != nullptr) cfg_.pcap->write(frame, t);
            stack_->receive(frame, t);
            continue;
        }
        const auto header = link::vnet_header::parse(bytes{read_buffer_.data(), static_cast<std::size_t>(n)});
        if (!header) {
            ++stats_.read_errors;
            continue;
        }
        const mutable_bytes frame{read_buffer_.data() + link::vnet_header::size,
                                  static_cast<std::size_t>(n) - link::vnet_header::size};
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
