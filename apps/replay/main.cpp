// replay: feeds the frames a recorded host received into a fresh tapstack at the capture's own
// timestamps (virtual clock, no sleeping), writes what the stack sends, and compares it with
// what the recorded host sent, flow by flow. Exit status: 0 equivalent (or different without
// --strict), 1 different with --strict, 2 bad input. --deterministic --seed N: tapstack's own
// capture (echo-server --pcap --seed N --deterministic) is reproduced byte for byte.
#include <tapstack/tap/allocator_tuning.hpp>
#include <algorithm>
#include <cstdint>
#include <set>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>
#include <tapstack/replay/replay.hpp>
#include "options.hpp"

namespace {

std::optional<std::string> parse_list(std::string_view v, std::set<std::string, std::less<>>& out,
                                      const std::vector<std::string_view>& allowed) {
    while (!v.empty()) {
        const auto comma = v.find(',');
        const auto item = v.substr(0, comma);
        if (std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
            std::string names;
            for (auto a : allowed) names += (names.empty() ? "" : " ") + std::string{a};
            return "unknown name '" + std::string{item} + "' (one of: " + names + ")";
        }
        out.emplace(item);
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    return std::nullopt;
}

/// What the command line asks for besides the replay itself.
struct cli {
    tapstack::tap::replay_options opts;
    std::string report_path;
    bool strict = false;
    bool quiet = false;
};

/// The arguments, with --host-ip rewritten for the shared parser: it wants A.B.C.D/N, so a bare
/// address (the host's own; every peer is then on-link) is passed on as /32 and widened later;
/// an IPv6 address (the host's global one) is passed on as --host-ip6 ADDR/64 unless it has
/// its own prefix length.
struct host_ip_args {
    std::vector<std::string> args;
    bool bare_host_ip = false;
    bool host_v6 = false;
};

host_ip_args rewrite_host_ip(int argc, char** argv) {
    host_ip_args r;
    r.args.assign(argv, argv + argc);
    auto& args = r.args;
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string* value = nullptr;
        if (args[i] == "--host-ip" && i + 1 < args.size())
            value = &args[i + 1];
        else if (args[i].starts_with("--host-ip="))
            value = &args[i];
        if (value != nullptr && value->find(':') != std::string::npos) {
            r.host_v6 = true;
            if (value->find('/') == std::string::npos) *value += "/64";
            if (value == &args[i])
                args[i] = "--host-ip6=" + args[i].substr(10);
            else
                args[i] = "--host-ip6";
            continue;
        }
        if (value != nullptr && value->find('/') == std::string::npos) {
            *value += "/32";
            r.bare_host_ip = true;
        }
    }
    return r;
}

/// The options that say what to replay and where the output goes. The handlers outlive this
/// function (the parser calls them later): they hold references to the fields of `c` itself.
void add_input_options(tapstack::app::option_parser& parser, cli& c) {
    using namespace tapstack;
    parser.add_option("--host-mac", "MAC", "the recorded host's MAC (default: learned from the capture)",
                      [&opts = c.opts](std::string_view v) -> std::optional<std::string> {
                          auto m = link::mac_address::from_string(v);
                          if (!m || m->is_multicast()) return "expected a unicast MAC like 02:54:41:50:00:01";
                          opts.host_mac = m;
                          return std::nullopt;
                      });
    parser.add_option("--app", "NAME",
                      "the service listening: echo, discard, chargen, http-hello or none (default echo)",
                      [&opts = c.opts](std::string_view v) -> std::optional<std::string> {
                          auto a = tap::replay_app_from_string(v);
                          if (!a) return "expected echo, discard, chargen, http-hello or none";
                          opts.app = *a;
                          return std::nullopt;
                      });
    parser.add_option("--out", "OUT.pcap", "write every frame the stack sends here",
                      [&opts = c.opts](std::string_view v) -> std::optional<std::string> {
                          if (v.empty()) return "empty file name";
                          opts.out_path = std::string{v};
                          return std::nullopt;
                      });
    parser.add_option("--report", "FILE.json", "write the comparison as JSON here",
                      [&report_path = c.report_path](std::string_view v) -> std::optional<std::string> {
                          if (v.empty()) return "empty file name";
                          report_path = std::string{v};
                          return std::nullopt;
                      });
    parser.add_option("--tail", "MS", "keep the stack's timers running this long after the last frame (default 200)",
                      [&opts = c.opts](std::string_view v) -> std::optional<std::string> {
                          std::uint64_t ms = 0;
                          if (auto e = app::parse_u64(v, ms)) return e;
                          if (ms > 3'600'000) return "at most an hour";
                          opts.tail = std::chrono::milliseconds{ms};
                          return std::nullopt;
                      });
    parser.add_option("--idle-close", "MS", "the app closes a TCP connection idle this long (like socat -T)",
                      [&opts = c.opts](std::string_view v) -> std::optional<std::string> {
                          std::uint64_t ms = 0;
                          if (auto e = app::parse_u64(v, ms)) return e;
                          if (ms == 0 || ms > 3'600'000) return "1..3600000 milliseconds";
                          opts.idle_close = std::chrono::milliseconds{ms};
                          return std::nullopt;
                      });
}

/// The options of the comparison and of the exit status.
void add_comparison_options(tapstack::app::option_parser& parser, cli& c) {
    using namespace tapstack;
    parser.add_option("--ignore", "FIELD,...", "leave these fields out of the comparison (e.g. window,options)",
                      [&opts = c.opts](std::string_view v) {
                          return parse_list(v, opts.tolerance.ignored_fields, tap::replay_fields());
                      });
    parser.add_option(
        "--unmatched-ok", "KIND,...",
        "do not count missing/extra frames of these flow kinds (arp,icmp,udp,tcp,other,ndp,mld,tcp_pure_ack)",
        [&opts = c.opts](std::string_view v) {
            return parse_list(v, opts.tolerance.unmatched_ok,
                              {"arp", "icmp", "udp", "tcp", "other", "ndp", "mld", "tcp_pure_ack"});
        });
    parser.add_flag("--deterministic",
                    "the capture is tapstack's own (echo-server --pcap --seed N --deterministic): replay on its clock, "
                    "byte for byte with the same --seed",
                    [&opts = c.opts] { opts.deterministic = true; });
    parser.add_flag("--no-translate", "feed the peer's ACK/SACK/TSecr unchanged",
                    [&opts = c.opts] { opts.translate = false; });
    parser.add_flag("--strict", "exit 1 when the replay differs from the capture",
                    [&strict = c.strict] { strict = true; });
    parser.add_flag("--quiet", "print only the summary line", [&quiet = c.quiet] { quiet = true; });
}

/// Replays and prints; the exit status.
int run(const std::string& pcap, const cli& c) {
    using namespace tapstack;
    const auto& opts = c.opts;
    try {
        const auto report = tap::replay_capture(pcap, opts);
        if (!c.report_path.empty()) {
            std::ofstream out{c.report_path};
            out << report.to_json();
            if (!out) {
                std::cerr << "replay: cannot write " << c.report_path << '\n';
                return 2;
            }
        }
        std::cout << (c.quiet ? report.summary() + "\n" : report.to_text()) << std::flush;
        return report.equivalent() || !c.strict ? 0 : 1;
    } catch (const tap::replay_error& e) {
        std::cerr << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "replay: " << e.what() << '\n';
        return 2;
    }
}

}  // namespace

int main(int argc, char** argv) {
    tapstack::tap::tune_allocator_for_connection_churn();
    using namespace tapstack;
    cli c;
    auto& opts = c.opts;
    const auto host_args = rewrite_host_ip(argc, argv);
    std::vector<const char*> cargs;
    for (const auto& a : host_args.args) cargs.push_back(a.c_str());

    app::option_parser parser{
        "replay",
        "replay --pcap IN.pcap --host-ip A.B.C.D|IPV6 [--host-mac MAC] [--app echo|discard|chargen|http-hello|none] "
        "[--out OUT.pcap] [--report FILE.json] [--strict] [--seed N [--deterministic]]",
        "Replays a capture (pcap, Ethernet) against a fresh tapstack configured as the recorded host\n"
        "(--host-ip), on a virtual clock: frames sent to the host are fed to the stack at their own\n"
        "timestamps, the stack's frames are written to --out and compared, flow by flow, with the frames\n"
        "the host sent. The app listens on every TCP port the host accepted a connection on and every UDP\n"
        "port it answered from. Exit status: 0 equivalent, 1 different (with --strict), 2 bad input.\n"
        "(--pcap is the INPUT capture here.)"};
    add_input_options(parser, c);
    add_comparison_options(parser, c);
    parser.require("--pcap");
    if (!host_args.host_v6) parser.require("--host-ip");
    parser.parse(static_cast<int>(cargs.size()), cargs.data());

    const auto& common = parser.common();
    if (common.host_ip6) {
        opts.host_ip6 = common.host_ip6->addr;
        opts.prefix_length6 = common.host_ip6->prefix_length;
    }
    if (!common.host_ip6 || common.host_ip) {
        if (!common.host_ip) {
            std::cerr << "replay: --host-ip is required\n";
            return 2;
        }
        opts.host_ip = common.host_ip->addr;
        opts.prefix_length = host_args.bare_host_ip ? 0 : common.host_ip->prefix_length;
    }
    opts.seed = common.seed.value_or(1);
    return run(common.pcap, c);
}
