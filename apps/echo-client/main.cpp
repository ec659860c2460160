// echo-client: the other side of echo-server. Opens --count connections (--concurrency at a
// time, each from an ephemeral port the stack picks, RFC 6056) to an echo service, sends
// --bytes on each while reading the echo back, checks every byte, and prints one summary line.
// Exit status: 0 all good, 1 any failure or mismatch (each printed), 2 bad arguments.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <tapstack/ip/tcp.hpp>
#include <tapstack/ip/udp.hpp>
#include "app.hpp"
#include "options.hpp"

namespace {

using namespace tapstack;
using boost::asio::use_awaitable;
using boost::system::error_code;
using namespace boost::asio::experimental::awaitable_operators;
namespace asio = boost::asio;

struct client_options {
    std::optional<ip::endpoint> peer;
    std::uint64_t count = 1;
    std::uint64_t concurrency = 1;
    std::uint64_t bytes = 1024;
    bool udp = false;
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds io_timeout{30'000};
};

/// The byte at `offset` of connection `conn`: differs between connections and repeats only
/// after 2^32 bytes, so a misplaced, duplicated or foreign segment shows up as a mismatch.
std::byte pattern(std::uint64_t conn, std::uint64_t offset) noexcept {
    std::uint64_t x = (offset >> 3) * 0x9E3779B97F4A7C15ULL + conn * 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 29;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 32;
    return static_cast<std::byte>(x >> (8 * (offset & 7)));
}

void fill(std::uint64_t conn, std::uint64_t offset, std::span<std::byte> out) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = pattern(conn, offset + i);
}

/// "Connection refused" -> "connection refused", as the rest of our messages read.
std::string describe(const error_code& ec) {
    std::string m = ec.message();
    if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z') m[0] = static_cast<char>(m[0] - 'A' + 'a');
    return m;
}

std::optional<std::string> parse_millis(std::string_view v, std::chrono::milliseconds& out) {
    // Seconds, with up to three decimals: "3", "0.5".
    std::uint64_t whole = 0, frac = 0;
    std::size_t digits = 0;
    const auto dot = v.find('.');
    if (auto err = tapstack::app::parse_u64(v.substr(0, dot), whole)) return err;
    if (dot != std::string_view::npos) {
        auto f = v.substr(dot + 1);
        if (f.empty() || f.size() > 3) return "seconds with at most three decimals";
        if (auto err = tapstack::app::parse_u64(f, frac)) return err;
        digits = f.size();
    }
    for (std::size_t i = digits; i < 3; ++i) frac *= 10;
    if (whole > 86400) return "at most 86400 seconds";
    const auto ms = whole * 1000 + frac;
    if (ms == 0) return "must be more than 0";
    out = std::chrono::milliseconds{static_cast<std::int64_t>(ms)};
    return std::nullopt;
}

class client {
public:
    client(app::app_context& ctx, const client_options& o) : ctx_{ctx}, o_{o} {}

    void start() {
        started_ = std::chrono::steady_clock::now();
        const auto workers = std::min(o_.concurrency, o_.count);
        active_ = workers;
        for (std::uint64_t i = 0; i < workers; ++i)
            asio::co_spawn(ctx_.io(), worker(), [this](std::exception_ptr e) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) { fail("internal error: " + std::string{ex.what()}); }
                }
                if (--active_ == 0) finish();
            });
    }

    int status() const noexcept { return failures_ == 0 && ok_ == o_.count ? 0 : 1; }

private:
    asio::awaitable<void> worker() {
        while (next_ < o_.count) {
            const auto conn = next_++;
            if (o_.udp)
                co_await udp_exchange(conn);
            else
                co_await tcp_exchange(conn);
        }
    }

    void fail(std::string message) {
        ++failures_;
        // Every distinct message once, then only counted: 200 identical lines help nobody.
        if (++messages_[message] == 1) std::cerr << "echo-client: " << message << '\n';
    }

    void note_port(std::uint16_t p) {
        port_min_ = std::min(port_min_, p);
        port_max_ = std::max(port_max_, p);
    }

    /// Cancels a socket's pending operations if they take longer than a deadline. The state is
    /// shared with the timer's handler, and a generation number makes a firing that raced a
    /// disarm() (already queued when the operation finished) do nothing.
    struct watchdog {
        explicit watchdog(asio::io_context& io) : timer{io} {}
        template <class Socket>
        static void arm(const std::shared_ptr<watchdog>& self, const std::shared_ptr<Socket>& sock,
                        std::chrono::milliseconds after) {
            const auto gen = ++self->generation;
            self->fired = false;
            self->timer.expires_after(after);
            self->timer.async_wait([self, sock, gen](const error_code& ec) {
                if (ec || gen != self->generation) return;
                self->fired = true;
                sock->cancel();
            });
        }
        void disarm() {
            ++generation;
            timer.cancel();
        }
        asio::steady_timer timer;
        std::uint64_t generation = 0;
        bool fired = false;
    };

    asio::awaitable<void> tcp_exchange(std::uint64_t conn) {
        auto sock = std::make_shared<ip::tcp::socket>(ctx_.runtime());
        auto dog = std::make_shared<watchdog>(ctx_.io());
        const std::string peer = o_.peer->to_string();

        watchdog::arm(dog, sock, o_.connect_timeout);
        auto [cec] = co_await sock->async_connect(*o_.peer, asio::as_tuple(use_awaitable));
        dog->disarm();
        if (dog->fired) cec = asio::error::timed_out;
        if (cec) {
            sock->abort();
            fail("connect to " + peer + ": " + describe(cec));
            co_return;
        }
        error_code lec;
        note_port(sock->local_endpoint(lec).port);

        watchdog::arm(dog, sock, o_.io_timeout);
        auto [wec, rec] = co_await (send_all(*sock, conn) && check_echo(*sock, conn));
        dog->disarm();
        if (dog->fired) {
            sock->abort();
            fail("connection to " + peer + ": echo timed out");
            co_return;
        }
        if (wec) {
            sock->abort();
            fail("send to " + peer + ": " + describe(wec));
            co_return;
        }
        if (rec) {
            sock->abort();
            fail("echo from " + peer + ": " + describe(rec));
            co_return;
        }
        sock->close();
        ++ok_;
    }

    asio::awaitable<error_code> send_all(ip::tcp::socket& sock, std::uint64_t conn) {
        std::vector<std::byte> buf(std::min<std::uint64_t>(o_.bytes, 64 * 1024));
        for (std::uint64_t off = 0; off < o_.bytes;) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), o_.bytes - off));
            fill(conn, off, std::span{buf.data(), n});
            auto [ec, written] =
                co_await asio::async_write(sock, asio::buffer(buf.data(), n), asio::as_tuple(use_awaitable));
            if (ec) co_return ec;
            off += written;
            bytes_sent_ += written;
        }
        // Our FIN: the echo server closes after echoing everything.
        error_code ec;
        sock.shutdown(ip::tcp::socket::shutdown_send, ec);
        co_return ec;
    }

    asio::awaitable<error_code> check_echo(ip::tcp::socket& sock, std::uint64_t conn) {
        std::vector<std::byte> buf(64 * 1024);
        std::uint64_t got = 0;
        for (;;) {
            auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), asio::as_tuple(use_awaitable));
            if (ec == asio::error::eof) break;
            if (ec) co_return ec;
            if (got + n > o_.bytes) co_return mismatch("more bytes than sent");
            for (std::size_t i = 0; i < n; ++i)
                if (buf[i] != pattern(conn, got + i))
                    co_return mismatch("byte " + std::to_string(got + i) + " differs");
            got += n;
            bytes_echoed_ += n;
        }
        if (got != o_.bytes)
            co_return mismatch("eof after " + std::to_string(got) + " of " + std::to_string(o_.bytes) + " bytes");
        co_return error_code{};
    }

    error_code mismatch(const std::string& what) {
        mismatch_text_ = what;
        return asio::error::invalid_argument;  // reported as a mismatch below
    }

    static bool echoes_earlier_datagram(std::uint64_t conn, std::uint64_t before, std::span<const std::byte> got,
                                        std::size_t datagram_size) {
        std::vector<std::byte> expected(datagram_size);
        for (std::uint64_t off = 0; off < before; off += datagram_size) {
            if (got.size() != datagram_size) return false;  // only the last datagram can be shorter
            fill(conn, off, std::span{expected});
            if (std::equal(got.begin(), got.end(), expected.begin())) return true;
        }
        return false;
    }

    asio::awaitable<void> udp_exchange(std::uint64_t conn) {
        const std::string peer = o_.peer->to_string();
        auto sock = std::make_shared<ip::udp::socket>(ctx_.runtime());
        error_code ec;
        sock->bind(
            ip::endpoint{
                o_.peer->address.is_v6() ? ip::address{ip::address_v6::any()} : ip::address{ip::address_v4::any()}, 0},
            ec);
        if (ec) {
            fail("udp bind: " + describe(ec));
            co_return;
        }
        note_port(sock->local_endpoint(ec).port);
        // Datagrams of at most 1472 bytes: one Ethernet frame each, no fragments.
        constexpr std::size_t max_datagram = 1472;
        std::vector<std::byte> out(max_datagram), in(max_datagram + 1);
        auto dog = std::make_shared<watchdog>(ctx_.io());
        for (std::uint64_t off = 0; off < o_.bytes;) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(max_datagram, o_.bytes - off));
            fill(conn, off, std::span{out.data(), n});
            bool answered = false;
            // UDP may lose a datagram: three tries, each waiting up to a second (or less, if
            // --io-timeout says so).
            for (int attempt = 0; attempt < 3 && !answered; ++attempt) {
                auto [sec, sent] =
                    co_await sock->async_send_to(asio::buffer(out.data(), n), *o_.peer, asio::as_tuple(use_awaitable));
                if (sec) {
                    fail("send to " + peer + ": " + describe(sec));
                    co_return;
                }
                bytes_sent_ += sent;
                watchdog::arm(dog, sock, std::min<std::chrono::milliseconds>(o_.io_timeout, std::chrono::seconds{1}));
                for (;;) {
                    ip::endpoint from;
                    auto [rec, got] =
                        co_await sock->async_receive_from(asio::buffer(in), from, asio::as_tuple(use_awaitable));
                    if (rec == asio::error::operation_aborted && dog->fired) break;  // try again
                    if (rec) {
                        dog->disarm();
                        fail("echo from " + peer + ": " + describe(rec));
                        co_return;
                    }
                    if (from != *o_.peer) continue;  // not our echo
                    // A retry can bring the echo of an earlier datagram twice: the late copy
                    // is a duplicate, not a corruption.
                    if (echoes_earlier_datagram(conn, off, std::span{in.data(), got}, max_datagram)) continue;
                    dog->disarm();
                    if (got != n ||
                        !std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), in.begin())) {
                        fail("echo from " + peer + ": datagram at byte " + std::to_string(off) + " differs");
                        co_return;
                    }
                    bytes_echoed_ += got;
                    answered = true;
                    break;
                }
            }
            if (!answered) {
                fail("echo from " + peer + ": no answer to 3 tries (timed out)");
                co_return;
            }
            off += n;
        }
        sock->close();
        ++ok_;
    }

    void finish() {
        const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        if (!mismatch_text_.empty()) std::cerr << "echo-client: mismatch: " << mismatch_text_ << '\n';
        std::ostringstream line;
        line.precision(3);
        line << std::fixed << "summary: protocol=" << (o_.udp ? "udp" : "tcp") << " peer=" << o_.peer->to_string()
             << " connections=" << o_.count << " ok=" << ok_ << " failures=" << failures_
             << " bytes_sent=" << bytes_sent_ << " bytes_echoed=" << bytes_echoed_;
        if (port_max_ != 0) line << " local_port_min=" << port_min_ << " local_port_max=" << port_max_;
        line << " seconds=" << secs;
        std::cout << line.str() << std::endl;
        // Let the last FINs and ACKs leave before the runtime stops.
        auto t = std::make_shared<asio::steady_timer>(ctx_.io(), std::chrono::milliseconds{200});
        t->async_wait([this, t](const error_code&) { ctx_.stop(); });
    }

    app::app_context& ctx_;
    client_options o_;
    std::chrono::steady_clock::time_point started_;
    std::uint64_t next_ = 0;
    std::uint64_t active_ = 0;
    std::uint64_t ok_ = 0;
    std::uint64_t failures_ = 0;
    std::uint64_t bytes_sent_ = 0;
    std::uint64_t bytes_echoed_ = 0;
    std::uint16_t port_min_ = 65535;
    std::uint16_t port_max_ = 0;
    std::string mismatch_text_;
    std::map<std::string, int> messages_;
};

}  // namespace

int main(int argc, char** argv) {
    client_options o;
    app::option_parser parser{
        "echo-client",
        "echo-client --tap NAME --ip A.B.C.D/N [--host-ip A.B.C.D/N] --connect IP:PORT [--count N] "
        "[--concurrency C] [--bytes B] [--udp] [--connect-timeout S] [--io-timeout S] [--pcap FILE]",
        "Connects --count times (--concurrency at a time) to an echo service (RFC 862) over tapstack on a\n"
        "TAP device, sends --bytes on each connection from an ephemeral port while reading the echo\n"
        "back, and checks every byte. Prints one 'summary:' line (connections, bytes, failures, the\n"
        "lowest and highest local port used); each failure is printed as 'echo-client: ...'.\n"
        "Exit status 0 if every connection echoed correctly, 1 otherwise, 2 for bad arguments."};
    parser.add_option(
        "--connect", "IP:PORT", "the echo service to talk to", [&](std::string_view v) -> std::optional<std::string> {
            if (!v.empty() && v.front() == '[') {  // [IPv6]:PORT
                auto e = ip::endpoint::from_string(v);
                if (!e || e->port == 0 || e->address.to_v6().is_multicast() || e->address.is_unspecified())
                    return "expected [IPv6]:PORT with a unicast address and a port 1..65535";
                o.peer = *e;
                return std::nullopt;
            }
            auto colon = v.rfind(':');
            if (colon == std::string_view::npos) return "expected A.B.C.D:PORT";
            auto a = ip::address_v4::from_string(v.substr(0, colon));
            if (!a) return "expected A.B.C.D:PORT with each part 0..255";
            if (a->is_unspecified() || a->is_multicast() || a->is_broadcast()) return "not a unicast address";
            std::uint16_t port = 0;
            if (auto err = app::parse_port(v.substr(colon + 1), port)) return "port: " + *err;
            if (port == 0) return "port 0 cannot be connected to";
            o.peer = ip::endpoint{*a, port};
            return std::nullopt;
        });
    auto count_option = [&](std::string name, std::string help, std::uint64_t& target, std::uint64_t max) {
        parser.add_option(name, "N", help + " (default " + std::to_string(target) + ")",
                          [&target, max](std::string_view v) -> std::optional<std::string> {
                              std::uint64_t n = 0;
                              if (auto err = app::parse_u64(v, n)) return err;
                              if (n < 1 || n > max) return "must be 1.." + std::to_string(max);
                              target = n;
                              return std::nullopt;
                          });
    };
    count_option("--count", "connections (or UDP exchanges) in all", o.count, 10'000'000);
    count_option("--concurrency", "connections open at the same time", o.concurrency, 100'000);
    count_option("--bytes", "bytes sent (and expected back) on each connection", o.bytes, std::uint64_t{1} << 40);
    parser.add_flag("--udp", "UDP datagrams (at most 1472 bytes each, 3 tries) instead of TCP", [&] { o.udp = true; });
    parser.add_option("--connect-timeout", "S", "give up a connect after S seconds (default 10)",
                      [&](std::string_view v) { return parse_millis(v, o.connect_timeout); });
    parser.add_option("--io-timeout", "S",
                      "give up a connection whose echo is not complete after S seconds (default 30)",
                      [&](std::string_view v) { return parse_millis(v, o.io_timeout); });
    parser.require("--tap");
    parser.require("--ip");
    parser.require("--connect");
    parser.parse(argc, argv);
    if (const auto& ipa = parser.common().ip; ipa && ipa->addr == o.peer->address.to_v4()) {
        std::cerr << "echo-client: bad --connect '" << o.peer->to_string() << "': that is our own address (--ip)\n";
        return 2;
    }

    return app::run_main("echo-client", [&] {
        app::app_context ctx{"echo-client", parser.common()};
        client c{ctx, o};
        ctx.on_ready([&] {
            std::cout << ctx.ready_line() << std::endl;
            c.start();
        });
        ctx.run();
        // Sessions still open (a signal arrived) see operation_aborted while the stack lives.
        ctx.io().restart();
        ctx.io().poll();
        return c.status();
    });
}
