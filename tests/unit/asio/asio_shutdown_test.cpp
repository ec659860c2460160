// Destroying an io_context destroys, without invoking, the handlers of operations still pending
// on our sockets, as Boost.Asio's own sockets do (execution_context::shutdown ->
// service::shutdown). The usual shared_from_this session -- a handler that owns the socket it
// waits on -- is a cycle only that breaks; without it every such session leaked at exit.
//
// The runtimes are heap-allocated and destroyed before the io_context (the order the apps and
// the fixtures use), so a socket that touched its dead runtime while being destroyed at
// shutdown would be a heap-use-after-free under ASan.
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <tapstack/ip/tcp.hpp>
#include <tapstack/ip/udp.hpp>
#include <tapstack/tap/memory_runtime.hpp>
#include <tapstack/tap/runtime.hpp>
#include "harness.hpp"

namespace tapstack::testing {
namespace {
using boost::system::error_code;
using namespace std::chrono_literals;

/// Live sessions, and read completions delivered to any session.
int live_sessions = 0;
int read_completions = 0;

/// The shared_from_this echo session of every Asio example: each pending read's handler holds
/// the session, which holds the socket the read waits on.
class read_session : public std::enable_shared_from_this<read_session> {
public:
    explicit read_session(ip::tcp::socket s) : socket_{std::move(s)} { ++live_sessions; }
    ~read_session() { --live_sessions; }
    read_session(const read_session&) = delete;
    read_session& operator=(const read_session&) = delete;

    void start() {
        socket_.async_read_some(boost::asio::buffer(buf_), [self = shared_from_this()](error_code ec, std::size_t) {
            ++self->completions_;
            ++read_completions;
            if (!ec) self->start();
        });
    }
    int completions() const noexcept { return completions_; }

private:
    ip::tcp::socket socket_;
    std::array<char, 512> buf_{};
    int completions_ = 0;
};

/// An io_context and a memory_runtime on the heap, so each can be destroyed on its own.
struct memory_world {
    std::unique_ptr<boost::asio::io_context> io = std::make_unique<boost::asio::io_context>();
    std::unique_ptr<tap::memory_runtime> rt = std::make_unique<tap::memory_runtime>(io->get_executor());

    bool run_until(const std::function<bool()>& pred) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!pred()) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            io->restart();
            io->run_one_for(20ms);
        }
        return true;
    }
    void run_for(std::chrono::milliseconds d) {
        io->restart();
        io->run_for(d);
    }
    /// `client` on A connected to a socket accepted on B at `port`, which is returned.
    ip::tcp::socket connect(ip::tcp::socket& client, ip::port_number port) {
        ip::tcp::acceptor acc{rt->b(), ip::endpoint{rt->b_address(), port}};
        ip::tcp::socket server{rt->b()};
        bool accepted = false, connected = false;
        acc.async_accept(server, [&](error_code ec) {
            EXPECT_FALSE(ec) << ec.message();
            accepted = true;
        });
        client.async_connect(ip::endpoint{rt->b_address(), port}, [&](error_code ec) {
            EXPECT_FALSE(ec) << ec.message();
            connected = true;
        });
        EXPECT_TRUE(run_until([&] { return accepted && connected; }));
        return server;
    }
};

TEST(AsioShutdown, SessionWithAPendingReadIsDestroyedWithTheIoContext) {
    std::weak_ptr<read_session> watch;
    {
        memory_world w;
        ip::tcp::socket client{w.rt->a()};
        auto s = std::make_shared<read_session>(w.connect(client, 7));
        watch = s;
        s->start();
        s.reset();
        w.run_for(50ms);  // the read is pending: nothing was sent
        ASSERT_FALSE(watch.expired());
        EXPECT_EQ(watch.lock()->completions(), 0);

        w.io->stop();
        client.close();  // sockets go before their runtime, as they must
        w.rt.reset();  // the runtime before the io_context: the apps' order
        EXPECT_FALSE(watch.expired());
        w.io.reset();  // shuts the socket service down: the pending read's handler goes
        EXPECT_TRUE(watch.expired()) << "the session leaked";
    }
    EXPECT_EQ(live_sessions, 0);
}

TEST(AsioShutdown, HandlerIsDestroyedNotInvokedAndTheSessionRanBefore) {
    // The same cycle, after the session has served data: the read pending at shutdown is
    // destroyed, never completed (no operation_aborted delivered into a dying context).
    std::weak_ptr<read_session> watch;
    memory_world w;
    ip::tcp::socket client{w.rt->a()};
    {
        auto s = std::make_shared<read_session>(w.connect(client, 8));
        watch = s;
        s->start();
    }
    const std::array<char, 3> hello{'a', 'b', 'c'};
    bool sent = false;
    client.async_write_some(boost::asio::buffer(hello), [&](error_code ec, std::size_t) {
        EXPECT_FALSE(ec);
        sent = true;
    });
    ASSERT_TRUE(w.run_until([&] { return sent && !watch.expired() && watch.lock()->completions() == 1; }));
    const int before = watch.lock()->completions();
    client.close();
    w.run_for(20ms);  // the FIN arrives: the session reads eof and stops
    ASSERT_TRUE(watch.expired()) << "a session whose read completed with eof must end normally";

    // Now one that is still waiting when the context goes.
    ip::tcp::socket client2{w.rt->a()};
    {
        auto s = std::make_shared<read_session>(w.connect(client2, 9));
        watch = s;
        s->start();
    }
    w.run_for(20ms);
    ASSERT_FALSE(watch.expired());
    EXPECT_EQ(watch.lock()->completions(), 0);
    EXPECT_EQ(before, 1);
    client2.close();
    const int delivered = read_completions;
    w.rt.reset();
    w.io.reset();
    EXPECT_TRUE(watch.expired());
    EXPECT_EQ(read_completions, delivered) << "a handler destroyed at shutdown must not run";
}

TEST(AsioShutdown, CoroutineSuspendedInAReadIsDestroyedWithTheIoContext) {
    // co_spawn: the awaitable's frame owns the socket; the pending read owns the frame.
    auto alive = std::make_shared<int>(0);
    std::weak_ptr<int> watch = alive;
    memory_world w;
    ip::tcp::socket client{w.rt->a()};
    auto server = w.connect(client, 10);
    bool reading = false;
    boost::asio::co_spawn(
        *w.io,
        [](ip::tcp::socket s, std::shared_ptr<int> token, bool& flag) -> boost::asio::awaitable<void> {
            std::array<char, 64> buf{};
            flag = true;
            (void)co_await s.async_read_some(boost::asio::buffer(buf), boost::asio::use_awaitable);
            ++*token;  // never reached: nothing is sent
        }(std::move(server), std::move(alive), reading),
        boost::asio::detached);
    ASSERT_TRUE(w.run_until([&] { return reading; }));
    w.run_for(20ms);
    ASSERT_FALSE(watch.expired());
    client.close();
    w.rt.reset();
    w.io.reset();
    EXPECT_TRUE(watch.expired()) << "the coroutine frame leaked";
}

TEST(AsioShutdown, ServerWithAPendingAcceptIsDestroyedWithTheIoContext) {
    struct server : std::enable_shared_from_this<server> {
        explicit server(tap::stack_context& ctx, const ip::endpoint& at) : acc{ctx, at} {}
        void start() {
            acc.async_accept([self = shared_from_this()](error_code ec, ip::tcp::socket) {
                if (!ec) self->start();
            });
        }
        ip::tcp::acceptor acc;
    };
    std::weak_ptr<server> watch;
    memory_world w;
    {
        auto s = std::make_shared<server>(w.rt->b(), ip::endpoint{w.rt->b_address(), 11});
        watch = s;
        s->start();
    }
    w.run_for(20ms);
    ASSERT_FALSE(watch.expired());
    w.rt.reset();
    w.io.reset();
    EXPECT_TRUE(watch.expired()) << "the server leaked";
}

TEST(AsioShutdown, UdpReceiverIsDestroyedWithTheIoContext) {
    struct receiver : std::enable_shared_from_this<receiver> {
        explicit receiver(tap::stack_context& ctx, const ip::endpoint& at) : sock{ctx, at} {}
        void start() {
            sock.async_receive_from(boost::asio::buffer(buf), from,
                                    [self = shared_from_this()](error_code ec, std::size_t) {
                                        if (!ec) self->start();
                                    });
        }
        ip::udp::socket sock;
        std::array<char, 64> buf{};
        ip::endpoint from{};
    };
    std::weak_ptr<receiver> watch;
    memory_world w;
    {
        auto r = std::make_shared<receiver>(w.rt->a(), ip::endpoint{w.rt->a_address(), 5353});
        watch = r;
        r->start();
    }
    w.run_for(20ms);
    ASSERT_FALSE(watch.expired());
    w.rt.reset();
    w.io.reset();
    EXPECT_TRUE(watch.expired()) << "the receiver leaked";
}

TEST(AsioShutdown, SessionWaitingOnATimerDoesNotTouchTheDeadRuntime) {
    // The handler that goes at shutdown is a timer's; its session still has an open, connected
    // socket, whose destruction must not call into the runtime destroyed before the io_context
    // (under ASan that would be a heap-use-after-free).
    struct timed_session : std::enable_shared_from_this<timed_session> {
        timed_session(ip::tcp::socket s, boost::asio::any_io_executor ex) : sock{std::move(s)}, timer{ex} {}
        void start() {
            timer.expires_after(1h);
            timer.async_wait([self = shared_from_this()](error_code) {});
        }
        ip::tcp::socket sock;
        boost::asio::steady_timer timer;
    };
    std::weak_ptr<timed_session> watch;
    memory_world w;
    ip::tcp::socket client{w.rt->a()};
    {
        auto s = std::make_shared<timed_session>(w.connect(client, 12), w.io->get_executor());
        watch = s;
        s->start();
    }
    w.run_for(20ms);
    ASSERT_FALSE(watch.expired());
    client.close();
    w.rt.reset();
    w.io.reset();
    EXPECT_TRUE(watch.expired());
}

TEST(AsioShutdown, UdpReceiverOverTheTapRuntimeIsDestroyedWithTheIoContext) {
    // The production runtime, over one end of a socketpair (no device): same rule.
    struct receiver : std::enable_shared_from_this<receiver> {
        explicit receiver(tap::stack_context& ctx, const ip::endpoint& at) : sock{ctx, at} {}
        void start() {
            sock.async_receive_from(boost::asio::buffer(buf), from,
                                    [self = shared_from_this()](error_code ec, std::size_t) {
                                        if (!ec) self->start();
                                    });
        }
        ip::udp::socket sock;
        std::array<char, 64> buf{};
        ip::endpoint from{};
    };
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    std::weak_ptr<receiver> watch;
    auto io = std::make_unique<boost::asio::io_context>(1);
    tap::runtime_config cfg;
    cfg.stack = harness::default_config();
    auto rt = std::make_unique<tap::runtime>(*io, tap::tap_device::adopt(fds[0], "pair0"), cfg);
    rt->start();
    {
        auto r = std::make_shared<receiver>(*rt, ip::endpoint{ip::address{cfg.stack.ipv4.addr}, 5353});
        watch = r;
        r->start();
    }
    io->run_for(20ms);
    ASSERT_FALSE(watch.expired());
    rt->stop();
    rt.reset();
    io.reset();
    ::close(fds[1]);
    EXPECT_TRUE(watch.expired()) << "the receiver leaked";
}

TEST(AsioShutdown, SocketOutlivingTheTapRuntimeDoesNotTouchIt) {
    // A socket destroyed after its runtime (a session freed late, by the app or by a handler
    // that held it) must not call into the stack that died with the runtime (under ASan that
    // would be a heap-use-after-free); it is closed, and operations on it fail cleanly.
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    auto io = std::make_unique<boost::asio::io_context>(1);
    tap::runtime_config cfg;
    cfg.stack = harness::default_config();
    auto rt = std::make_unique<tap::runtime>(*io, tap::tap_device::adopt(fds[0], "pair0"), cfg);
    rt->start();
    auto sock = std::make_unique<ip::udp::socket>(*rt, ip::endpoint{ip::address{cfg.stack.ipv4.addr}, 5353});
    ASSERT_TRUE(sock->is_open());
    io->run_for(5ms);
    rt->stop();
    rt.reset();  // the socket is still open
    EXPECT_FALSE(sock->is_open());
    sock.reset();
    io.reset();
    ::close(fds[1]);
}

}  // namespace
}  // namespace tapstack::testing
