// One TCP echo between two in-memory stacks through the installed tapstack package.
// Exits 0 when the echo came back intact.
#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <tapstack/ip/tcp.hpp>
#include <tapstack/tap/memory_runtime.hpp>

int main() {
    using boost::system::error_code;
    using tapstack::ip::tcp;
    boost::asio::io_context io;
    tapstack::tap::memory_runtime rt{io.get_executor()};

    tcp::acceptor acceptor{rt.b(), tcp::endpoint{rt.b_address(), 7}};
    tcp::socket server{rt.b()};
    std::array<char, 64> buf{};
    acceptor.async_accept(server, [&](error_code ec) {
        if (ec) return;
        server.async_read_some(boost::asio::buffer(buf), [&](error_code rec, std::size_t n) {
            if (!rec) boost::asio::async_write(server, boost::asio::buffer(buf, n), [](error_code, std::size_t) {});
        });
    });

    const std::string message = "hello from find_package";
    std::string reply(message.size(), '\0');
    bool ok = false;
    tcp::socket client{rt.a()};
    client.async_connect(tcp::endpoint{rt.b_address(), 7}, [&](error_code ec) {
        if (ec) return;
        boost::asio::async_write(client, boost::asio::buffer(message), [&](error_code wec, std::size_t) {
            if (wec) return;
            boost::asio::async_read(client, boost::asio::buffer(reply), [&](error_code rec, std::size_t) {
                ok = !rec && reply == message;
                io.stop();
            });
        });
    });
    // Bounded: the runtime's timers are outstanding work, so run() would not return by itself.
    io.run_for(std::chrono::seconds{5});
    std::printf("%s: %s\n", ok ? "echo ok" : "echo FAILED", reply.c_str());
    return ok ? 0 : 1;
}
