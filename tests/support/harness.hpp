#pragma once
// A stack on a virtual clock with a recording sink, and a scripted peer that builds frames.
#include <deque>
#include <optional>
#include <vector>
#include <tapstack/stack.hpp>
#include <tapstack/wire/arp.hpp>
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/icmp.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/tcp.hpp>
#include <tapstack/wire/udp.hpp>

namespace tapstack::testing {

using frame = std::vector<std::byte>;

class recording_sink final : public link::frame_sink {
public:
    void send_frame(bytes f, instant) override { frames.emplace_back(f.begin(), f.end()); }
    std::deque<frame> frames;
};

/// The host on the other end of the wire, as the tests script it.
struct peer_host {
    link::mac_address mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};
    ip::address_v4 ip{10, 0, 0, 1};
};

/// A parsed outgoing frame: Ethernet, then (if present) IPv4 and its transport.
struct captured {
    captured() = default;
    captured(captured&&) = default;  // the views point into bytes_'s heap buffer, which moves along
    captured& operator=(captured&&) = default;
    captured(const captured&) = delete;
    frame bytes_;
    link::mac_address eth_dst, eth_src;
    std::uint16_t ether_type = 0;
    std::optional<wire::arp_view> arp;
    std::optional<wire::ipv4_view> ip;
    std::optional<wire::icmp_view> icmp;
    std::optional<wire::udp_view> udp;
    std::optional<wire::tcp_segment> tcp;
};

class harness {
public:
    static stack_config default_config();
    explicit harness(const stack_config& cfg = default_config());

    tapstack::stack stack;
    recording_sink sink;
    peer_host peer;
    instant now = instant_from_us(1'000'000);

    /// Moves the clock and runs the stack's timers (each deadline on the way, in order).
    void advance(duration d);
    void inject(bytes f) { stack.receive(f, now); }

    // Frames the peer sends.
    frame arp_request(ip::address_v4 target) const;
    frame arp_reply() const;
    frame ipv4(std::uint8_t protocol, bytes payload, ip::address_v4 dst = {}, std::uint8_t ttl = 64) const;
    frame ping(std::uint16_t id, std::uint16_t seq, bytes data) const;
    frame udp(std::uint16_t sport, std::uint16_t dport, bytes payload, bool zero_checksum = false) const;
    frame tcp(const wire::tcp_segment& seg) const;

    /// Teaches the stack the peer's MAC (so the next send does not wait for ARP).
    void learn_peer();

    std::size_t pending() const { return sink.frames.size(); }
    /// Pops the oldest emitted frame, parsed (fails the test when there is none).
    captured next();
    /// Drops every emitted frame.
    void clear() { sink.frames.clear(); }

    ip::address us() const { return ip::address{stack.config().ipv4.addr}; }
    ip::address them() const { return ip::address{peer.ip}; }
};

/// A segment from the peer: ports, sequence number and a 65535 window; no flags, no ACK yet.
wire::tcp_segment peer_segment(std::uint16_t sport, std::uint16_t dport, tcp::seq_number seq);

/// A TCP listener on `port` (any address), `reuse` = SO_REUSEADDR.
socket_handle listen_on(harness& h, std::uint16_t port, std::uint32_t backlog = 16, bool reuse = false);

/// Drives a three-way handshake from the peer's `sport` (ISN `iss`, MSS 1460) to the listener on
/// `dport`: an ESTABLISHED connection waiting in the accept queue. Returns the stack's ISN.
tcp::seq_number handshake(harness& h, std::uint16_t sport, std::uint16_t dport, tcp::seq_number iss);

/// Parses any frame the stack emitted (checksums verified).
captured parse_frame(const frame& f);

}  // namespace tapstack::testing
