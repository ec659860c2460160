#include <tapstack/tap/pcap_writer.hpp>

#include <pcap/pcap.h>

#include <stdexcept>

namespace tapstack::tap {

pcap_writer::pcap_writer(const std::string& path, timestamp_precision precision, std::uint32_t snaplen)
    : path_{path}, precision_{precision}, snaplen_{snaplen} {
    const int p = precision == timestamp_precision::nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO;
    handle_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(snaplen), static_cast<u_int>(p));
    if (handle_ == nullptr) throw std::runtime_error{"pcap: cannot create a capture handle for " + path};
    dumper_ = pcap_dump_open(handle_, path.c_str());
    if (dumper_ == nullptr) {
        std::string err = pcap_geterr(handle_);
        pcap_close(handle_);
        handle_ = nullptr;
        throw std::runtime_error{"pcap: cannot write " + path + ": " + err};
    }
}

pcap_writer::~pcap_writer() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);  // flushes
    if (handle_ != nullptr) pcap_close(handle_);
}

void pcap_writer::write(bytes frame, std::chrono::nanoseconds since_epoch) {
    pcap_pkthdr hdr{};
    const auto ns = since_epoch.count();
    const auto sec = ns / 1'000'000'000;
    const auto frac = ns % 1'000'000'000;
    hdr.ts.tv_sec = static_cast<decltype(hdr.ts.tv_sec)>(sec);
    // With a nanosecond handle, libpcap stores tv_usec as nanoseconds.
    hdr.ts.tv_usec =
        static_cast<decltype(hdr.ts.tv_usec)>(precision_ == timestamp_precision::nano ? frac : frac / 1000);
    hdr.len = static_cast<bpf_u_int32>(frame.size());
    hdr.caplen = static_cast<bpf_u_int32>(frame.size() < snaplen_ ? frame.size() : snaplen_);
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &hdr, reinterpret_cast<const u_char*>(frame.data()));
    ++frames_;
}

void pcap_writer::flush() {
    if (pcap_dump_flush(dumper_) != 0) throw std::runtime_error{"pcap: cannot flush " + path_};
}

}  // namespace tapstack::tap
