#pragma once
// Reading Ethernet captures (pcap savefiles; pcapng too, as far as libpcap reads it) for the
// replay tool and tests.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tapstack/base/bytes.hpp>

struct pcap;

namespace tapstack::tap {

/// Thrown for files that cannot be replayed: missing, not a capture, a link type other than
/// Ethernet, or a record cut short. The message names the file and the cause.
class pcap_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct pcap_record {
    bytes frame;  // borrowed until the next call to next()
    std::chrono::nanoseconds timestamp;  // as recorded, nanosecond resolution
    std::uint32_t original_length = 0;  // > frame.size() when the capture's snaplen cut it
    std::uint64_t index = 0;  // 0-based record number
};

class pcap_reader {
public:
    explicit pcap_reader(const std::string& path);
    pcap_reader(const pcap_reader&) = delete;
    pcap_reader& operator=(const pcap_reader&) = delete;
    ~pcap_reader();

    /// The next record, or nullopt at the end of the file. A record cut short by the end of
    /// the file (or otherwise unreadable) throws pcap_error.
    std::optional<pcap_record> next();

    const std::string& path() const noexcept { return path_; }
    std::uint32_t snaplen() const noexcept;

private:
    std::string path_;
    pcap* handle_ = nullptr;
    std::uint64_t count_ = 0;
};

}  // namespace tapstack::tap
