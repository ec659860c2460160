#pragma once
// A bulk transfer between two stacks for tests: a deterministic byte pattern, a hash over the
// stream, and an endpoint that sends its pattern and checks the peer's whenever the stack
// reports readiness. Used by the fault-injection transfer test, the TSO transfer test and the soak.
#include <algorithm>
#include <array>
#include <tapstack/base/random.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>

namespace tapstack::testing {

/// A deterministic byte stream: the same seed gives the same bytes on both ends.
class stream_pattern {
public:
    explicit stream_pattern(std::uint64_t seed) : rng_{seed} {}
    void fill(mutable_bytes out) {
        for (auto& b : out) {
            if (left_ == 0) {
                word_ = rng_.next();
                left_ = 8;
            }
            b = std::byte(word_ & 0xff);
            word_ >>= 8;
            --left_;
        }
    }

private:
    random_source rng_;
    std::uint64_t word_ = 0;
    int left_ = 0;
};

/// FNV-1a over the whole stream, so sender and receiver can compare one number.
struct stream_hash {
    std::uint64_t value = 1469598103934665603ULL;
    void add(bytes b) {
        for (auto x : b) value = (value ^ static_cast<std::uint8_t>(x)) * 1099511628211ULL;
    }
};

/// One end of a bulk transfer: sends `total` pattern bytes, receives and checks the peer's.
struct bulk_endpoint final : socket_waiter {
    bulk_endpoint(tapstack::stack& s, link::memory_link& w, std::uint64_t send_seed, std::uint64_t expect_seed,
                  std::size_t total)
        : st{s}, wire{w}, out_pattern{send_seed}, in_pattern{expect_seed}, total_bytes{total} {}

    tapstack::stack& st;
    link::memory_link& wire;
    socket_handle sock;
    stream_pattern out_pattern, in_pattern;
    std::size_t total_bytes;
    std::size_t sent = 0, received = 0, mismatches = 0;
    bool eof = false, shut = false;
    errc failure = errc::success;
    stream_hash sent_hash, received_hash;
    std::array<std::byte, 16384> chunk{};
    std::size_t chunk_len = 0, chunk_off = 0;
    std::array<std::byte, 65536> rx{};
    std::array<std::byte, 65536> expect{};

    void on_socket_event(socket_handle, std::uint8_t) override { pump(); }

    void pump() {
        const instant now = wire.now();
        while (sent < total_bytes) {
            if (chunk_off == chunk_len) {
                chunk_len = std::min(chunk.size(), total_bytes - sent);
                chunk_off = 0;
                out_pattern.fill(mutable_bytes{chunk.data(), chunk_len});
            }
            auto n = st.tcp_send(sock, bytes{chunk.data() + chunk_off, chunk_len - chunk_off}, now);
            if (!n) {
                if (n.error() != errc::would_block) failure = n.error();
                break;
            }
            sent_hash.add(bytes{chunk.data() + chunk_off, *n});
            chunk_off += *n;
            sent += *n;
        }
        if (sent == total_bytes && !shut) {
            shut = true;
            st.tcp_shutdown_send(sock, now);
        }
        while (!eof) {
            auto n = st.tcp_receive(sock, rx, now);
            if (!n) {
                if (n.error() != errc::would_block) failure = n.error();
                break;
            }
            if (*n == 0) {
                eof = true;
                break;
            }
            in_pattern.fill(mutable_bytes{expect.data(), *n});
            if (!std::equal(rx.begin(), rx.begin() + static_cast<std::ptrdiff_t>(*n), expect.begin())) ++mismatches;
            received_hash.add(bytes{rx.data(), *n});
            received += *n;
        }
    }
    bool done() const { return (eof && shut) || failure != errc::success; }
};

/// Listens on the server's port 9, connects c from the client, accepts s, and runs the link
/// until both endpoints have sent and received everything (or failed), or an hour of virtual
/// time passes. `each_step(now)` runs first at every step (fault injectors release the frames
/// they hold back). Returns whether both endpoints finished.
template <class EachStep>
bool run_bulk_pair(tapstack::stack& client, tapstack::stack& server, link::memory_link& wire, bulk_endpoint& c,
                   bulk_endpoint& s, EachStep each_step) {
    using namespace std::chrono_literals;
    const auto listener = server.tcp_open();
    if (!listener || server.tcp_bind(*listener, {ip::address_v4::any(), 9}) != errc::success ||
        server.tcp_listen(*listener, 4) != errc::success)
        return false;
    const auto sock = client.tcp_open();
    if (!sock) return false;
    c.sock = *sock;
    client.set_waiter(c.sock, &c);
    if (client.tcp_connect(c.sock, {ip::address{ip::address_v4{10, 0, 0, 2}}, 9}, wire.now()) != errc::success)
        return false;
    bool accepted = false;
    return wire.run_until(
        [&] {
            each_step(wire.now());
            if (!accepted) {
                if (auto a = server.tcp_accept(*listener, wire.now())) {
                    s.sock = *a;
                    server.set_waiter(s.sock, &s);
                    accepted = true;
                    s.pump();
                    c.pump();
                }
            }
            return accepted && c.done() && s.done();
        },
        wire.now() + 3600s);
}

/// Host n of 10.0.0.0/24 with MAC 02:00:00:00:00:n.
inline stack_config bulk_config_for(std::uint8_t host, std::uint64_t seed) {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    c.seed = seed;
    return c;
}

}  // namespace tapstack::testing
