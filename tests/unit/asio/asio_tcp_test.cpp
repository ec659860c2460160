// tapstack::ip::tcp over the memory runtime: the ways Asio users drive a socket.
#include <array>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include "asio_fixture.hpp"

namespace tapstack::testing {
namespace {
namespace ae = boost::asio::error;
using boost::system::error_code;
using namespace std::chrono_literals;

static_assert(std::is_same_v<ip::tcp::socket::executor_type, boost::asio::any_io_executor>);

/// Echoes everything it reads until eof or an error (callback style).
struct echo_session : std::enable_shared_from_this<echo_session> {
    explicit echo_session(ip::tcp::socket s) : sock{std::move(s)} {}
    void start() { read(); }
    void read() {
        sock.async_read_some(boost::asio::buffer(buf), [self = shared_from_this()](error_code ec, std::size_t n) {
            if (ec) {
                self->final_ec = ec;
                return;
            }
            boost::asio::async_write(self->sock, boost::asio::buffer(self->buf, n),
                                     [self](error_code wec, std::size_t) {
                                         if (!wec) self->read();
                                     });
        });
    }
    ip::tcp::socket sock;
    std::array<char, 512> buf{};
    error_code final_ec;
};

using AsioTcp = asio_test;

TEST_F(AsioTcp, EchoWithCallbacks) {
    ip::tcp::acceptor acc{rt.b(), ip::endpoint{rt.b_address(), 7}};
    std::shared_ptr<echo_session> session;
    acc.async_accept([&](error_code ec, ip::tcp::socket s) {
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(s.remote_endpoint().address, rt.a_address());
        session = std::make_shared<echo_session>(std::move(s));
        session->start();
    });
    ip::tcp::socket client{rt.a()};
    const std::string msg = "hello, tapstack";
    std::string reply(msg.size(), '\0');
    bool done = false;
    client.async_connect(ip::endpoint{rt.b_address(), 7}, [&](error_code ec) {
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(client.remote_endpoint(), (ip::endpoint{rt.b_address(), 7}));
        EXPECT_EQ(client.local_endpoint().address, rt.a_address());
        boost::asio::async_write(client, boost::asio::buffer(msg), [&](error_code wec, std::size_t n) {
            ASSERT_FALSE(wec);
            EXPECT_EQ(n, msg.size());
            boost::asio::async_read(client, boost::asio::buffer(reply), [&](error_code rec, std::size_t m) {
                EXPECT_FALSE(rec) << rec.message();
                EXPECT_EQ(m, msg.size());
                done = true;
            });
        });
    });
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(reply, msg);
}

TEST_F(AsioTcp, EchoWithCoroutines) {
    using boost::asio::use_awaitable;
    std::string reply;
    bool server_done = false, client_done = false;
    ip::tcp::acceptor acc{rt.b(), ip::endpoint{rt.b_address(), 7}};
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            ip::tcp::socket s = co_await acc.async_accept(use_awaitable);
            std::array<char, 256> buf{};
            for (;;) {
                const auto [ec, n] =
                    co_await s.async_read_some(boost::asio::buffer(buf), boost::asio::as_tuple(use_awaitable));
                if (ec == ae::eof) break;
                if (ec) throw boost::system::system_error(ec);
                co_await boost::asio::async_write(s, boost::asio::buffer(buf, n), use_awaitable);
            }
            server_done = true;
        },
        boost::asio::detached);
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            ip::tcp::socket c{rt.a()};
            co_await c.async_connect(ip::endpoint{rt.b_address(), 7}, use_awaitable);
            for (const std::string part : {"one ", "two ", "three"}) {
                co_await boost::asio::async_write(c, boost::asio::buffer(part), use_awaitable);
                std::string got(part.size(), '\0');
                co_await boost::asio::async_read(c, boost::asio::buffer(got), use_awaitable);
                reply += got;
            }
            c.shutdown(ip::tcp::socket::shutdown_send);
            std::array<char, 8> tail{};
            auto [ec, n] = co_await c.async_read_some(boost::asio::buffer(tail), boost::asio::as_tuple(use_awaitable));
            EXPECT_EQ(ec, ae::eof);
            EXPECT_EQ(n, 0u);
            client_done = true;
        },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    ASSERT_TRUE(run_until([&] { return server_done && client_done; }));
    EXPECT_EQ(reply, "one two three");
}

TEST_F(AsioTcp, AsyncReadExactAndReadUntil) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server);
    const std::string data = "HEADER\r\nbody-of-12345678";
    boost::asio::async_write(client, boost::asio::buffer(data), [](error_code ec, std::size_t) { EXPECT_FALSE(ec); });
    boost::asio::streambuf sb;
    std::string line, body;
    bool done = false;
    boost::asio::async_read_until(server, sb, "\r\n", [&](error_code ec, std::size_t n) {
        ASSERT_FALSE(ec) << ec.message();
        line.assign(boost::asio::buffers_begin(sb.data()),
                    boost::asio::buffers_begin(sb.data()) + static_cast<long>(n));
        sb.consume(n);
        const std::size_t rest = 16 - sb.size();
        boost::asio::async_read(server, sb, boost::asio::transfer_exactly(rest), [&](error_code rec, std::size_t) {
            ASSERT_FALSE(rec) << rec.message();
            body.assign(boost::asio::buffers_begin(sb.data()), boost::asio::buffers_end(sb.data()));
            done = true;
        });
    });
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(line, "HEADER\r\n");
    EXPECT_EQ(body, "body-of-12345678");
}

TEST_F(AsioTcp, LargeTransferArrivesIntact) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server);
    std::string data(300'000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 7) % 26);
    std::string got(data.size(), '\0');
    bool wrote = false, read = false;
    boost::asio::async_write(client, boost::asio::buffer(data), [&](error_code ec, std::size_t n) {
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(n, data.size());
        wrote = true;
    });
    boost::asio::async_read(server, boost::asio::buffer(got), [&](error_code ec, std::size_t n) {
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(n, data.size());
        read = true;
    });
    ASSERT_TRUE(run_until([&] { return wrote && read; }, 20s));
    EXPECT_TRUE(got == data);
}

TEST_F(AsioTcp, UseFutureFromAnotherThread) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server);
    // From here on the io_context runs on its own thread; this thread only posts (the
    // documented threading contract) and waits on futures.
    auto guard = boost::asio::make_work_guard(io);
    io.restart();
    std::thread runner{[&] { io.run_for(10s); }};
    const std::string msg = "from another thread";
    std::string got(msg.size(), '\0');

    std::promise<std::future<std::size_t>> read_started;
    boost::asio::post(server.get_executor(), [&] {
        read_started.set_value(boost::asio::async_read(server, boost::asio::buffer(got), boost::asio::use_future));
    });
    std::future<std::size_t> read_done = read_started.get_future().get();

    std::promise<std::future<std::size_t>> write_started;
    boost::asio::post(client.get_executor(), [&] {
        write_started.set_value(client.async_write_some(boost::asio::buffer(msg), boost::asio::use_future));
    });
    std::future<std::size_t> write_done = write_started.get_future().get();
    ASSERT_EQ(write_done.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(write_done.get(), msg.size());
    ASSERT_EQ(read_done.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(read_done.get(), msg.size());
    EXPECT_EQ(got, msg);

    // A failing operation surfaces as an exception from future::get().
    std::promise<std::future<void>> refused_started;
    ip::tcp::socket lonely{rt.a()};
    boost::asio::post(io, [&] {
        refused_started.set_value(lonely.async_connect(ip::endpoint{rt.b_address(), 9}, boost::asio::use_future));
    });
    auto refused = refused_started.get_future().get();
    ASSERT_EQ(refused.wait_for(5s), std::future_status::ready);
    try {
        refused.get();
        ADD_FAILURE() << "connect should have failed";
    } catch (const boost::system::system_error& e) { EXPECT_EQ(e.code(), ae::connection_refused); }
    io.stop();
    runner.join();
}

TEST_F(AsioTcp, EofAfterPeerShutdown) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server);
    boost::asio::write(client, boost::asio::buffer(std::string{}));  // zero bytes: a no-op
    std::string got(3, '\0');
    client.async_write_some(boost::asio::buffer(std::string_view{"bye"}),
                            [](error_code ec, std::size_t) { EXPECT_FALSE(ec); });
    run_for(20ms);
    client.shutdown(ip::tcp::socket::shutdown_send);
    std::array<char, 16> buf{};
    std::string collected;
    error_code last;
    bool done = false;
    std::function<void()> read_more = [&] {
        server.async_read_some(boost::asio::buffer(buf), [&](error_code ec, std::size_t n) {
            collected.append(buf.data(), n);
            if (ec) {
                last = ec;
                done = true;
                return;
            }
            read_more();
        });
    };
    read_more();
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(collected, "bye");
    EXPECT_EQ(last, ae::eof);
    // The other direction still works after a half-close.
    bool back = false;
    std::string reply(2, '\0');
    boost::asio::async_write(server, boost::asio::buffer(std::string_view{"ok"}),
                             [](error_code ec, std::size_t) { EXPECT_FALSE(ec); });
    boost::asio::async_read(client, boost::asio::buffer(reply), [&](error_code ec, std::size_t) {
        EXPECT_FALSE(ec) << ec.message();
        back = true;
    });
    ASSERT_TRUE(run_until([&] { return back; }));
    EXPECT_EQ(reply, "ok");
}

TEST_F(AsioTcp, ZeroByteReadCompletesAtOnceButNotInline) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server);
    bool done = false;
    server.async_read_some(boost::asio::mutable_buffer{}, [&](error_code ec, std::size_t n) {
        EXPECT_FALSE(ec);
        EXPECT_EQ(n, 0u);
        done = true;
    });
    EXPECT_FALSE(done);
    io.restart();
    io.poll();
    EXPECT_TRUE(done);
}

TEST_F(AsioTcp, CloseAndCancelAbortPendingReads) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server);
    std::array<char, 8> buf{};
    error_code cancelled, closed;
    bool c1 = false, c2 = false;
    server.async_read_some(boost::asio::buffer(buf), [&](error_code ec, std::size_t) {
        cancelled = ec;
        c1 = true;
    });
    run_for(10ms);
    EXPECT_FALSE(c1);
    server.cancel();
    EXPECT_FALSE(c1);
    ASSERT_TRUE(run_until([&] { return c1; }));
    EXPECT_EQ(cancelled, ae::operation_aborted);
    // cancel() left the connection usable.
    std::string got(2, '\0');
    bool read = false;
    boost::asio::async_read(server, boost::asio::buffer(got), [&](error_code ec, std::size_t) {
        EXPECT_FALSE(ec);
        read = true;
    });
    boost::asio::async_write(client, boost::asio::buffer(std::string_view{"hi"}), [](error_code, std::size_t) {});
    ASSERT_TRUE(run_until([&] { return read; }));
    EXPECT_EQ(got, "hi");

    server.async_read_some(boost::asio::buffer(buf), [&](error_code ec, std::size_t) {
        closed = ec;
        c2 = true;
    });
    run_for(10ms);
    server.close();
    EXPECT_FALSE(server.is_open());
    ASSERT_TRUE(run_until([&] { return c2; }));
    EXPECT_EQ(closed, ae::operation_aborted);
    // The peer sees the orderly close as eof.
    error_code peer;
    bool peer_done = false;
    client.async_read_some(boost::asio::buffer(buf), [&](error_code ec, std::size_t) {
        peer = ec;
        peer_done = true;
    });
    ASSERT_TRUE(run_until([&] { return peer_done; }));
    EXPECT_EQ(peer, ae::eof);
}

TEST_F(AsioTcp, PerOperationCancellationOfReadAndAccept) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server, 7);
    boost::asio::cancellation_signal sig;
    std::array<char, 8> buf{};
    error_code result;
    bool done = false;
    server.async_read_some(boost::asio::buffer(buf),
                           boost::asio::bind_cancellation_slot(sig.slot(), [&](error_code ec, std::size_t) {
                               result = ec;
                               done = true;
                           }));
    run_for(10ms);
    EXPECT_FALSE(done);
    sig.emit(boost::asio::cancellation_type::terminal);
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(result, ae::operation_aborted);

    // Other operations on the socket are untouched, and a later read works.
    std::string got(3, '\0');
    bool read = false;
    boost::asio::async_read(server, boost::asio::buffer(got), [&](error_code ec, std::size_t) {
        EXPECT_FALSE(ec);
        read = true;
    });
    boost::asio::async_write(client, boost::asio::buffer(std::string_view{"abc"}), [](error_code, std::size_t) {});
    ASSERT_TRUE(run_until([&] { return read; }));
    EXPECT_EQ(got, "abc");

    ip::tcp::acceptor acc{rt.b(), ip::endpoint{rt.b_address(), 8}};
    boost::asio::cancellation_signal accept_sig;
    bool accepted = false;
    error_code accept_ec;
    acc.async_accept(boost::asio::bind_cancellation_slot(accept_sig.slot(), [&](error_code ec, ip::tcp::socket) {
        accept_ec = ec;
        accepted = true;
    }));
    run_for(10ms);
    accept_sig.emit(boost::asio::cancellation_type::total);
    ASSERT_TRUE(run_until([&] { return accepted; }));
    EXPECT_EQ(accept_ec, ae::operation_aborted);
    EXPECT_TRUE(acc.is_open());
}

TEST_F(AsioTcp, DeferredOperationsStartWhenInvoked) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server);
    auto op = client.async_write_some(boost::asio::buffer(std::string_view{"later"}), boost::asio::deferred);
    run_for(10ms);
    EXPECT_EQ(server.available(), 0u);  // nothing sent yet
    bool done = false;
    std::move(op)([&](error_code ec, std::size_t n) {
        EXPECT_FALSE(ec);
        EXPECT_EQ(n, 5u);
        done = true;
    });
    ASSERT_TRUE(run_until([&] { return done && server.available() == 5; }));
}

TEST_F(AsioTcp, OptionsAndSyncTwins) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    client.set_option(ip::tcp::no_delay{true});
    client.set_option(tapstack::socket_base::keep_alive{true});
    connect_pair(client, server);
    ip::tcp::no_delay nd;
    client.get_option(nd);
    EXPECT_TRUE(nd.value());
    tapstack::socket_base::keep_alive ka;
    client.get_option(ka);
    EXPECT_TRUE(ka.value());
    server.get_option(nd);
    EXPECT_FALSE(nd.value());

    std::array<char, 4> buf{};
    error_code ec;
    EXPECT_EQ(server.read_some(boost::asio::buffer(buf), ec), 0u);
    EXPECT_EQ(ec, ae::would_block);
    EXPECT_EQ(client.write_some(boost::asio::buffer(std::string_view{"sync"})), 4u);
    ASSERT_TRUE(run_until([&] { return server.available() == 4; }));
    EXPECT_EQ(server.read_some(boost::asio::buffer(buf)), 4u);
    EXPECT_EQ(std::string(buf.data(), 4), "sync");
    EXPECT_EQ(&client.lowest_layer(), &client);
}

}  // namespace
}  // namespace tapstack::testing
