// The Internet checksum alone: ns per buffer for each implementation this machine runs (scalar,
// SSE2, AVX2) and for internet_checksum() as the stack calls it (the selected one).
//
//   checksum_bench [BYTES] [--json]   buffer size (default 1468: a full segment's TCP header and
//                                     payload at MTU 1500 with timestamps), started at an odd
//                                     address as payloads in frames are
//
// Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the median of 9 runs of ~20 ms, as
// in memory_bench: the machine is shared.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>
#include <tapstack/wire/checksum.hpp>

using namespace tapstack;
using detail_impl = tapstack::wire::detail::checksum_impl;

namespace {

double thread_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

volatile std::uint16_t sink;  // keeps the sums from being optimised away

template <class F>
double ns_per_call(F f) {
    std::size_t iters = 1000;
    for (;;) {  // calibrate to ~20 ms
        const double t0 = thread_seconds();
        for (std::size_t i = 0; i < iters; ++i) sink = f();
        if (thread_seconds() - t0 > 0.02) break;
        iters *= 2;
    }
    std::vector<double> runs;
    for (int r = 0; r < 9; ++r) {
        const double t0 = thread_seconds();
        for (std::size_t i = 0; i < iters; ++i) sink = f();
        runs.push_back((thread_seconds() - t0) * 1e9 / static_cast<double>(iters));
    }
    std::nth_element(runs.begin(), runs.begin() + 4, runs.end());
    return runs[4];
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t size = 1468;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--json")
            json = true;
        else
            size = std::strtoul(a.c_str(), nullptr, 10);
    }
    std::vector<std::byte> storage(size + 64);
    for (std::size_t i = 0; i < storage.size(); ++i) storage[i] = std::byte(static_cast<unsigned char>(i * 131 + 7));
    const bytes data = bytes{storage}.subspan(1, size);

    auto report = [&](const char* what, double ns) {
        if (json)
            std::printf("{\"name\":\"checksum_%s_ns\",\"value\":%.2f,\"unit\":\"ns\",\"bytes\":%zu}\n", what, ns, size);
        else
            std::printf("%-20s %8.2f ns per %zu bytes  %6.2f GB/s\n", what, ns, size, static_cast<double>(size) / ns);
    };
    const std::pair<detail_impl, const char*> impls[] = {{detail_impl::scalar, "scalar"}, {detail_impl::avx2, "avx2"}};
    for (const auto& [impl, name] : impls) {
        if (!wire::detail::checksum_impl_available(impl)) continue;
        report(name, ns_per_call([&, impl = impl] { return wire::detail::folded_sum(impl, data); }));
    }
    report("internet_checksum", ns_per_call([&] { return wire::internet_checksum(data); }));
    return 0;
}
