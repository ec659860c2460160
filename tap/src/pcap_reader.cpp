#include <tapstack/tap/pcap_reader.hpp>

#include <pcap/pcap.h>

namespace tapstack::tap {

pcap_reader::pcap_reader(const std::string& path) : path_{path} {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    handle_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (handle_ == nullptr) throw pcap_error{"pcap: cannot read " + path + ": " + errbuf};
    const int dlt = pcap_datalink(handle_);
    if (dlt != DLT_EN10MB) {
        const char* name = pcap_datalink_val_to_name(dlt);
        pcap_close(handle_);
        handle_ = nullptr;
        throw pcap_error{"pcap: " + path + " has link type " + std::to_string(dlt) + " (" +
                         (name != nullptr ? name : "unknown") + "), expected EN10MB (Ethernet)"};
    }
}

pcap_reader::~pcap_reader() {
    if (handle_ != nullptr) pcap_close(handle_);
}

std::uint32_t pcap_reader::snaplen() const noexcept { return static_cast<std::uint32_t>(pcap_snapshot(handle_)); }

std::optional<pcap_record> pcap_reader::next() {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) return std::nullopt;  // -2: end of file
    if (rc != 1)
        throw pcap_error{"pcap: " + path_ + ": record " + std::to_string(count_) + ": " + pcap_geterr(handle_)};
    pcap_record r{
        .frame = bytes{reinterpret_cast<const std::byte*>(data), hdr->caplen},
        .timestamp = std::chrono::seconds{hdr->ts.tv_sec} + std::chrono::nanoseconds{hdr->ts.tv_usec},
        .original_length = hdr->len,
        .index = count_,
    };
    ++count_;
    return r;
}

}  // namespace tapstack::tap
