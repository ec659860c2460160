// libFuzzer target: the pcap reader (tap/src/pcap_reader.cpp over libpcap) on arbitrary files.
//
// The input is written to an in-memory file (memfd) and opened by path, as the replay tool opens
// captures. A file the reader refuses must throw pcap_error (never crash, leak or return a
// record that lies about its size); every record it returns must be readable in full. Each
// frame is also handed to the wire views, as the replay engine would.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tapstack/tap/pcap_reader.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/ipv4.hpp>

namespace {

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)

volatile std::uint64_t sink;

int memory_file() {
    static const int fd = memfd_create("fuzz_pcap", 0);
    FUZZ_CHECK(fd >= 0);
    return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tapstack;
    const int fd = memory_file();
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        FUZZ_CHECK(n > 0);
        done += static_cast<std::size_t>(n);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        tap::pcap_reader r{path};
        (void)r.snaplen();
        std::uint64_t expected_index = 0;
        // Bounded: a file of `size` bytes holds at most size/16 record headers.
        while (auto rec = r.next()) {
            FUZZ_CHECK(rec->index == expected_index++);
            FUZZ_CHECK(rec->frame.size() <= size);
            std::uint64_t s = 0;
            for (auto b : rec->frame) s += static_cast<std::uint8_t>(b);
            sink = sink + s;
            if (auto eth = wire::ethernet_view::parse(rec->frame)) {
                if (auto ip4 = wire::ipv4_view::parse(eth->payload())) sink = sink + ip4->total_length();
            }
            FUZZ_CHECK(expected_index <= size / 16 + 1);
        }
    } catch (const tap::pcap_error&) {
        // Refused cleanly.
    }
    return 0;
}
