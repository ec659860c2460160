// replay_bench: builds a capture of at least N frames (default 1,000,000) by repeating the connection in
// pcaps/tcp_echo_linux.pcap with a new client port and a shifted clock for each copy (one new
// connection every millisecond, a few hundred open at once), then replays it with the echo app
// and prints the wall time. Results: bench/RESULTS.md.
//   replay_bench [FRAMES] [SCRATCH.pcap]
#include <tapstack/tap/allocator_tuning.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>
#include <tapstack/tap/pcap_reader.hpp>
#include <tapstack/tap/pcap_writer.hpp>
#include <tapstack/replay/replay.hpp>

int main(int argc, char** argv) {
    tapstack::tap::tune_allocator_for_connection_churn();
    using namespace tapstack;
    using clock = std::chrono::steady_clock;
    const std::uint64_t target = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const std::string scratch =
        argc > 2 ? argv[2] : (std::filesystem::temp_directory_path() / "replay_bench.pcap").string();
    // The source tree as CMake knows it: __FILE__ may be relative (ccache's base_dir, -ffile-prefix-map).
    const std::string fixture = (std::filesystem::path{TAPSTACK_SOURCE_DIR} / "pcaps" / "tcp_echo_linux.pcap").string();
    if (!std::filesystem::exists(fixture)) {
        std::fprintf(stderr, "replay_bench: no fixture %s\n", fixture.c_str());
        return 2;
    }

    struct frame {
        std::vector<std::byte> bytes;
        std::chrono::nanoseconds at;
    };
    std::vector<frame> pattern;
    {
        tap::pcap_reader in{fixture};
        std::chrono::nanoseconds t0{-1};
        while (auto r = in.next()) {
            if (t0.count() < 0) t0 = r->timestamp;
            pattern.push_back({{r->frame.begin(), r->frame.end()}, r->timestamp - t0});
        }
    }
    const ip::address_v4 host{10, 77, 0, 1};
    const auto t_gen = clock::now();
    std::uint64_t written = 0;
    {
        tap::pcap_writer out{scratch, tap::timestamp_precision::nano};
        std::vector<std::byte> f;
        for (std::uint64_t copy = 0; written < target; ++copy) {
            const auto port = static_cast<std::uint16_t>(1024 + copy % 64000);
            const std::chrono::nanoseconds shift = std::chrono::milliseconds{static_cast<std::int64_t>(copy)};
            for (const auto& p : pattern) {  // whole connections: at least `target` frames
                f = p.bytes;
                const mutable_bytes m{f};
                const bool from_host = load_be32(bytes{f}, 26) == host.to_uint();
                // Client port: TCP source (to the host) or destination (from it). Checksums of
                // frames to the host are recomputed by the replay; the host's are not compared.
                store_be16(m, 14 + 20 + (from_host ? 2 : 0), port);
                out.write(bytes{f}, std::chrono::nanoseconds{1'700'000'000'000'000'000} + shift + p.at);
                ++written;
            }
        }
    }
    const double gen_s = std::chrono::duration<double>(clock::now() - t_gen).count();

    tap::replay_options o;
    o.host_ip = host;
    o.tolerance.ignored_fields = {"window", "wscale", "tsval"};
    o.tolerance.unmatched_ok = {"tcp_pure_ack"};
    const auto t_replay = clock::now();
    const auto report = tap::replay_capture(scratch, o);
    const double replay_s = std::chrono::duration<double>(clock::now() - t_replay).count();
    std::printf("frames %llu (generated in %.2f s, %s)\n", static_cast<unsigned long long>(report.frames), gen_s,
                scratch.c_str());
    std::printf("replay %.2f s wall for %.1f s of capture: %.0f frames/s; stack sent %llu frames\n", replay_s,
                static_cast<double>(report.capture_duration_us) / 1e6, static_cast<double>(report.frames) / replay_s,
                static_cast<unsigned long long>(report.frames_emitted));
    std::printf("%s\n", report.summary().c_str());
    if (!report.equivalent()) std::printf("%s", report.stack_stats.c_str());
    int shown = 0;
    for (const auto& f : report.flows) {
        if (f.equivalent() || shown++ == 3) continue;
        std::printf("  %s: matched %llu, missing %llu, extra %llu\n", f.name.c_str(),
                    static_cast<unsigned long long>(f.matched), static_cast<unsigned long long>(f.missing),
                    static_cast<unsigned long long>(f.extra));
        for (const auto& d : f.details) std::printf("    %s%s\n", d.recorded.c_str(), d.replayed.c_str());
    }
    std::filesystem::remove(scratch);
    return report.equivalent() ? 0 : 1;
}
