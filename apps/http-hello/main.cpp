// http-hello: a small HTTP/1.1 server (Boost.Beast, C++20 coroutines) on tapstack's TCP
// socket over a TAP device. The server is apps/services (make_http_hello, shared with the
// replay engine): GET or HEAD of / (or /index.html) returns a greeting page; any other path is
// 404, any other method 405; keep-alive is honoured (RFC 9112 §9.3).
#include <cstdint>
#include <iostream>
#include <tapstack/services/service.hpp>
#include "app.hpp"
#include "options.hpp"

using namespace tapstack;

int main(int argc, char** argv) {
    std::uint16_t port = 80;
    app::option_parser parser{"http-hello",
                              "http-hello --tap NAME --ip A.B.C.D/N [--host-ip A.B.C.D/N] [--port 80] [--pcap FILE]",
                              "Serves a greeting page over HTTP/1.1 (Boost.Beast) on tapstack until SIGINT or\n"
                              "SIGTERM: GET / returns it, other paths 404. Keep-alive is honoured. Prints\n"
                              "'ready ...' once it answers."};
    parser.add_port("--port", "HTTP port", port);
    parser.require("--tap");
    parser.require("--ip");
    parser.parse(argc, argv);
    if (port == 0) {
        std::cerr << "http-hello: bad --port '0': the server needs a port\n";
        return 2;
    }

    return app::run_main("http-hello", [&] {
        app::app_context ctx{"http-hello", parser.common()};
        const services::service_host host{ctx.runtime(), ctx.io().get_executor(), app::wildcard_address(ctx.options()),
                                          nullptr, "http-hello"};
        auto server = services::make_http_hello(host, port);
        ctx.on_shutdown([&] { server->stop(); });
        const int status = ctx.run();
        server->stop();
        ctx.io().restart();
        ctx.io().poll();
        return status;
    });
}
