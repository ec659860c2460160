// echo-server: answers ping, and runs the echo (RFC 862), discard (RFC 863) and chargen
// (RFC 864) services over UDP and TCP, and daytime (RFC 867) over TCP, on a TAP device. The
// services are apps/services (<tapstack/services/service.hpp>, shared with the replay engine);
// TCP services register next to the UDP ones below.
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>
#include <tapstack/stats.hpp>
#include "app.hpp"
#include "options.hpp"
#include <tapstack/services/service.hpp>

int main(int argc, char** argv) {
    using namespace tapstack;
    std::uint16_t echo_port = 7;
    std::uint16_t discard_port = 9;
    std::uint16_t chargen_port = 19;
    std::uint16_t daytime_port = 13;
    bool stats = false;

    app::option_parser parser{"echo-server",
                              "echo-server --tap NAME --ip A.B.C.D/N [--host-ip A.B.C.D/N] [--gateway A.B.C.D] "
                              "[--mac MAC] [--port 7] [--discard-port 9] [--chargen-port 19] [--daytime-port 13] "
                              "[--max-connections N] [--tcp-buffer BYTES] "
                              "[--pcap FILE] [--seed N [--deterministic]] [--stats] [--offload on|off]",
                              "Answers ping and runs the echo, discard and chargen services (UDP and TCP) and\n"
                              "daytime (TCP) on a TAP device\n"
                              "until SIGINT or SIGTERM. Prints 'ready ...' once it answers. A port of 0 turns a\n"
                              "service off."};
    parser.add_port("--port", "echo service port (RFC 862)", echo_port);
    parser.add_port("--discard-port", "discard service port (RFC 863)", discard_port);
    parser.add_port("--chargen-port", "character generator port (RFC 864)", chargen_port);
    parser.add_port("--daytime-port", "daytime service port, TCP only (RFC 867)", daytime_port);
    parser.add_flag("--stats", "print the stack's counters on exit and on SIGUSR1", [&] { stats = true; });
    parser.common().offload = true;  // default on: off with a one-line note if the TAP refuses
    parser.add_option(
        "--offload", "on|off",
        "TAP checksum and TCP segmentation offload (IFF_VNET_HDR, TUNSETOFFLOAD; default on if the TAP takes it)",
        [&](std::string_view v) -> std::optional<std::string> {
            if (v == "on")
                parser.common().offload = true;
            else if (v == "off")
                parser.common().offload = false;
            else
                return "expected on or off";
            return std::nullopt;
        });
    parser.add_flag("--deterministic",
                    "record for replay --deterministic (needs --seed): stack clock moves only at frames and timers, "
                    "--pcap on stack time",
                    [&] { parser.common().deterministic = true; });
    parser.require("--tap");
    parser.require("--ip");
    parser.parse(argc, argv);
    if (parser.common().deterministic && !parser.common().seed) {
        std::cerr << "echo-server: --deterministic needs --seed N (the ISNs and TS offsets come from it)\n";
        return 2;
    }

    return app::run_main("echo-server", [&] {
        app::app_context ctx{"echo-server", parser.common()};
        const services::service_host host{ctx.runtime(), ctx.io().get_executor(), app::wildcard_address(ctx.options()),
                                          &std::cerr, "echo-server"};
        std::vector<std::unique_ptr<services::service>> running;
        if (echo_port != 0) running.push_back(services::make_udp_echo(host, echo_port));
        if (discard_port != 0) running.push_back(services::make_udp_discard(host, discard_port));
        if (chargen_port != 0) running.push_back(services::make_udp_chargen(host, chargen_port));
        if (echo_port != 0) running.push_back(services::make_tcp_echo(host, echo_port));
        if (discard_port != 0) running.push_back(services::make_tcp_discard(host, discard_port));
        if (chargen_port != 0) running.push_back(services::make_tcp_chargen(host, chargen_port));
        if (daytime_port != 0) running.push_back(services::make_tcp_daytime(host, daytime_port));
        ctx.on_shutdown([&] {
            for (auto& s : running) s->stop();
        });
        auto print_stats = [&] {
            std::cout << format_stats(ctx.stack().stats()) << format_connections(ctx.stack());
            const auto& rs = ctx.runtime().stats();
            std::cout << "Runtime:\n    " << rs.frames_read << " frames read\n    " << rs.frames_written
                      << " frames written\n    " << rs.write_drops << " frames dropped (device queue full)\n";
            if (ctx.runtime().offload())
                std::cout << "    offload on\n    " << rs.rx_gso_frames << " super-frames read\n    "
                          << rs.rx_partial_csum << " frames read with a partial checksum\n    " << rs.tx_gso_frames
                          << " super-frames written\n";
            else
                std::cout << "    offload off\n";
            std::cout << std::flush;
        };
        if (stats) {
            ctx.on_usr1(print_stats);
            ctx.on_shutdown(print_stats);
        }
        const int status = ctx.run();
        // Let the TCP sessions see their operation_aborted and end while the stack still lives.
        for (auto& s : running) s->stop();
        ctx.io().restart();
        ctx.io().poll();
        running.clear();
        return status;
    });
}
