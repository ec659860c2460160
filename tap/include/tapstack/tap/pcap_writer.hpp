#pragma once
// Recording frames to a pcap file (libpcap's savefile format, link type EN10MB), readable by
// tcpdump and Wireshark.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/link/frame_sink.hpp>
#include <tapstack/link/offload.hpp>

struct pcap;
struct pcap_dumper;

namespace tapstack::tap {

enum class timestamp_precision : std::uint8_t { micro, nano };

/// Writes frames of both directions to one file. Frames are copied by libpcap's stdio buffer:
/// call flush() before reading the file while the writer lives (the destructor flushes).
/// Errors (open, write) throw std::runtime_error naming the file.
class pcap_writer {
public:
    explicit pcap_writer(const std::string& path, timestamp_precision precision = timestamp_precision::micro,
                         std::uint32_t snaplen = 65535);
    pcap_writer(const pcap_writer&) = delete;
    pcap_writer& operator=(const pcap_writer&) = delete;
    ~pcap_writer();

    /// `since_epoch` is the record's timestamp (Unix time for wall-clock captures).
    void write(bytes frame, std::chrono::nanoseconds since_epoch);
    /// Stack time: `now` plus the epoch set below (by default 0, so a virtual clock's t=0 is
    /// 1970-01-01; the runtime sets the wall-clock time of its start).
    void write(bytes frame, instant now) { write(frame, epoch_ + std::chrono::nanoseconds{now.time_since_epoch()}); }
    void set_epoch(std::chrono::nanoseconds epoch) noexcept { epoch_ = epoch; }
    void flush();

    const std::string& path() const noexcept { return path_; }
    std::uint64_t frames_written() const noexcept { return frames_; }
    timestamp_precision precision() const noexcept { return precision_; }

private:
    std::string path_;
    timestamp_precision precision_;
    std::uint32_t snaplen_;
    pcap* handle_ = nullptr;
    pcap_dumper* dumper_ = nullptr;
    std::chrono::nanoseconds epoch_{0};
    std::uint64_t frames_ = 0;
};

/// A frame_sink middleware: records each outbound frame, then passes it to `next` (which may
/// be null: record only, e.g. as a memory_link observer). Inbound frames are recorded by
/// whoever calls stack::receive (the runtime does it before receive()).
class pcap_tee final : public link::frame_sink {
public:
    pcap_tee(pcap_writer& writer, link::frame_sink* next) noexcept : writer_{&writer}, next_{next} {}
    void send_frame(bytes frame, instant now) override {
        writer_->write(frame, now);
        if (next_ != nullptr) next_->send_frame(frame, now);
    }
    /// Records the frame as the stack sent it -- a TSO super-frame, larger than the MTU -- but
    /// with its checksum completed (in a copy: the link gets the partial one it expects), so
    /// Wireshark's checksum validation passes. Costs a copy only while capturing.
    void send_offloaded(bytes frame, instant now, const link::tx_offload& offload) override {
        if (offload.needs_csum) {
            scratch_.assign(frame.begin(), frame.end());
            link::complete_partial_checksum(scratch_, offload.csum_start, offload.csum_offset);
            writer_->write(scratch_, now);
        } else {
            writer_->write(frame, now);
        }
        if (next_ != nullptr) next_->send_offloaded(frame, now, offload);
    }
    void set_next(link::frame_sink* next) noexcept { next_ = next; }

private:
    pcap_writer* writer_;
    link::frame_sink* next_;
    std::vector<std::byte> scratch_;  // a super-frame with its checksum completed (grows once)
};

}  // namespace tapstack::tap
