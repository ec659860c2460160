#pragma once
// IPv6 headers (RFC 8200): the fixed header view and builder, and a bounded walk over the
// extension headers that ends at the upper-layer protocol.
#include <optional>
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/ipv4.hpp>

namespace tapstack::wire {

constexpr std::size_t ipv6_header_size = 40;
/// RFC 8200 §5: "every link in the Internet have an MTU of 1280 octets or greater".
constexpr std::size_t ipv6_minimum_mtu = 1280;
constexpr std::size_t ipv6_fragment_header_size = 8;

/// Next-header values that are IPv6 extension headers (RFC 8200 §4) or "nothing follows".
enum class ipv6_next_header : std::uint8_t {
    hop_by_hop = 0,
    routing = 43,
    fragment = 44,
    esp = 50,
    auth = 51,
    no_next_header = 59,
    destination_options = 60,
};

class ipv6_view {
public:
    /// Checks version 6, the 40-byte header, and 40 + payload length <= buffer. Bytes after that
    /// are link padding and stay out of the view. A zero payload length with a non-empty rest is
    /// a jumbogram (RFC 2675), which needs a link MTU we never have: unsupported.
    static parse_result<ipv6_view> parse(bytes packet) noexcept;
    std::uint8_t traffic_class() const noexcept {
        return static_cast<std::uint8_t>((load_be16(bytes_, 0) >> 4) & 0xff);
    }
    std::uint32_t flow_label() const noexcept { return load_be32(bytes_, 0) & 0xfffff; }
    std::uint16_t payload_length() const noexcept { return load_be16(bytes_, 4); }
    std::uint8_t next_header() const noexcept { return load_u8(bytes_, 6); }
    std::uint8_t hop_limit() const noexcept { return load_u8(bytes_, 7); }
    ip::address_v6 source() const noexcept { return address_at(8); }
    ip::address_v6 destination() const noexcept { return address_at(24); }
    bytes header() const noexcept { return bytes_.first(ipv6_header_size); }
    /// Everything after the fixed header: extension headers and the upper-layer data.
    bytes payload() const noexcept { return bytes_.subspan(ipv6_header_size); }
    /// Header plus payload, without link padding.
    bytes packet() const noexcept { return bytes_; }

private:
    explicit ipv6_view(bytes b) noexcept : bytes_{b} {}
    ip::address_v6 address_at(std::size_t off) const noexcept;
    bytes bytes_;
};

/// What we put in the headers we send: no extension headers, so always 40 bytes.
struct ipv6_header {
    ip::address_v6 source;
    ip::address_v6 destination;
    std::uint8_t next_header = 0;
    std::uint8_t hop_limit = 64;
    std::uint8_t traffic_class = 0;
    std::uint32_t flow_label = 0;
    /// Writes 40 bytes with payload length `payload_length` (at most 65535).
    void encode(mutable_bytes out, std::size_t payload_length) const noexcept;
};

/// The fragment header (RFC 8200 §4.5).
struct ipv6_fragment {
    std::uint8_t next_header = 0;
    std::uint16_t offset = 0;  // in bytes (the field holds 8-byte units)
    bool more_fragments = false;
    std::uint32_t identification = 0;
    /// Where the fragment header starts, counted from the start of the IPv6 header.
    std::size_t header_offset = 0;
    void encode(mutable_bytes out) const noexcept;  // 8 bytes
};

/// ICMPv6 parameter-problem codes (RFC 4443 §3.4).
enum class ipv6_problem : std::uint8_t {
    erroneous_header_field = 0,
    unrecognized_next_header = 1,
    unrecognized_option = 2,
};

/// The result of walking a packet's extension headers.
struct ipv6_walk {
    enum class outcome : std::uint8_t {
        upper_layer,  // `protocol` at `offset` is what to deliver
        no_next_header,  // 59: nothing follows, drop silently
        discard,  // drop silently (unknown option with action 01, too many headers)
        problem,  // drop and answer with parameter problem `code` at `pointer`
        problem_unless_multicast,  // the same, but only if the destination was not multicast
        truncated,  // a header runs past the packet
    };
    outcome result = outcome::truncated;
    std::uint8_t protocol = 0;  // next header after the last extension header
    std::size_t offset = 0;  // from the start of the IPv6 header
    /// The byte that names `protocol` (for "unrecognized next header", RFC 8200 §4).
    std::size_t next_header_pointer = 6;
    std::optional<ipv6_fragment> fragment;  // the walk stops after a fragment header
    ipv6_problem code = ipv6_problem::erroneous_header_field;
    std::uint32_t pointer = 0;  // for parameter problem, from the start of the IPv6 header
    std::uint8_t headers = 0;  // extension headers walked
};

/// Walks hop-by-hop, destination options, routing and fragment headers in order (RFC 8200
/// §4.1), checking every declared length, processing options per their action bits (§4.2),
/// rejecting routing headers we would have to act on (§4.4) and hop-by-hop anywhere but first.
/// Stops at the first header that is not one of those (the upper layer, ESP, AH, ...), after a
/// fragment header (the rest is fragmentable data), or after `max_headers` headers (discard:
/// a bound against long chains, RFC 7045 allows it).
ipv6_walk walk_extension_headers(const ipv6_view& packet, std::uint8_t max_headers) noexcept;

}  // namespace tapstack::wire
