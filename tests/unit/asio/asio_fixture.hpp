#pragma once
// Shared set-up for the Asio socket tests: an io_context, a memory_runtime (A 10.0.0.1 and
// B 10.0.0.2) and bounded run helpers: no test runs the io_context unbounded.
#include <chrono>
#include <functional>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <tapstack/ip/tcp.hpp>
#include <tapstack/ip/udp.hpp>
#include <tapstack/tap/memory_runtime.hpp>

namespace tapstack::testing {

class asio_test : public ::testing::Test {
protected:
    /// Runs handlers until pred() holds or `limit` of wall time passed; returns pred().
    bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds{5}) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!pred()) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            io.restart();
            io.run_one_for(std::chrono::milliseconds{20});
        }
        return true;
    }
    /// Runs every handler that is ready, for at most `d`.
    void run_for(std::chrono::milliseconds d) {
        io.restart();
        io.run_for(d);
    }

    /// A connected pair: `client` on A, `server` accepted on B at `port`.
    void connect_pair(ip::tcp::socket& client, ip::tcp::socket& server, ip::port_number port = 7) {
        ip::tcp::acceptor acc{rt.b(), ip::endpoint{rt.b_address(), port}};
        bool accepted = false, connected = false;
        boost::system::error_code accept_ec, connect_ec;
        acc.async_accept(server, [&](boost::system::error_code ec) {
            accept_ec = ec;
            accepted = true;
        });
        client.async_connect(ip::endpoint{rt.b_address(), port}, [&](boost::system::error_code ec) {
            connect_ec = ec;
            connected = true;
        });
        ASSERT_TRUE(run_until([&] { return accepted && connected; }));
        ASSERT_FALSE(accept_ec) << accept_ec.message();
        ASSERT_FALSE(connect_ec) << connect_ec.message();
    }

    boost::asio::io_context io;
    tap::memory_runtime rt{io.get_executor()};
};

}  // namespace tapstack::testing
