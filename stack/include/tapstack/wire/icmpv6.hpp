#pragma once
// ICMPv6 (RFC 4443) and the Neighbor Discovery messages carried in it (RFC 4861 §4).
#include <optional>
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/mac.hpp>
#include <tapstack/wire/ethernet.hpp>

namespace tapstack::wire {

constexpr std::size_t icmpv6_header_size = 8;

enum class icmpv6_type : std::uint8_t {
    destination_unreachable = 1,
    packet_too_big = 2,
    time_exceeded = 3,
    parameter_problem = 4,
    echo_request = 128,
    echo_reply = 129,
    router_solicitation = 133,
    router_advertisement = 134,
    neighbor_solicitation = 135,
    neighbor_advertisement = 136,
    redirect = 137,
};

enum class icmpv6_unreachable_code : std::uint8_t {
    no_route = 0,
    prohibited = 1,
    beyond_scope = 2,
    address = 3,
    port = 4,
};

/// RFC 4443 §2.1: types 0..127 are errors, 128..255 informational.
constexpr bool is_icmpv6_error(std::uint8_t type) noexcept { return type < 128; }

class icmpv6_view {
public:
    /// Needs 8 bytes and a checksum that verifies over the IPv6 pseudo-header (RFC 4443 §2.3).
    static parse_result<icmpv6_view> parse(bytes message, const ip::address_v6& src,
                                           const ip::address_v6& dst) noexcept;
    std::uint8_t type() const noexcept { return load_u8(bytes_, 0); }
    std::uint8_t code() const noexcept { return load_u8(bytes_, 1); }
    std::uint16_t identifier() const noexcept { return load_be16(bytes_, 4); }
    std::uint16_t sequence() const noexcept { return load_be16(bytes_, 6); }
    /// Bytes 4..7: echo id/seq, the MTU of packet too big, the pointer of parameter problem.
    std::uint32_t rest_of_header() const noexcept { return load_be32(bytes_, 4); }
    bytes body() const noexcept { return bytes_.subspan(icmpv6_header_size); }
    bytes message() const noexcept { return bytes_; }

private:
    explicit icmpv6_view(bytes b) noexcept : bytes_{b} {}
    bytes bytes_;
};

struct icmpv6_header {
    std::uint8_t type = 0;
    std::uint8_t code = 0;
    std::uint32_t rest_of_header = 0;
    /// Writes the 8-byte header at out[0..8) and the checksum over the pseudo-header and
    /// out[0..8+body_size); the body must already be in place.
    void encode(mutable_bytes out, std::size_t body_size, const ip::address_v6& src,
                const ip::address_v6& dst) const noexcept;
};

// ---------------------------------------------------------------- Neighbor Discovery

enum class ndp_option_type : std::uint8_t {
    source_link_layer = 1,
    target_link_layer = 2,
    prefix_information = 3,
    redirected_header = 4,
    mtu = 5,
};

/// RFC 4861 §7.1.1/§7.1.2/§6.1.2: the checks every receiver of NDP messages makes. The hop
/// limit must be 255 (the packet cannot come from off-link) and the code 0.
constexpr std::uint8_t ndp_hop_limit = 255;

struct neighbor_solicitation {
    ip::address_v6 target;
    std::optional<link::mac_address> source_link_layer;
    /// From an ICMPv6 message of type 135: code 0, >= 24 bytes, a non-multicast target and
    /// options whose lengths are non-zero and fit.
    static parse_result<neighbor_solicitation> parse(const icmpv6_view& m) noexcept;
    std::size_t encoded_size() const noexcept { return 24 + (source_link_layer ? 8 : 0); }
    /// Writes the whole ICMPv6 message, checksum included.
    void encode(mutable_bytes out, const ip::address_v6& src, const ip::address_v6& dst) const noexcept;
};

struct neighbor_advertisement {
    bool router = false;
    bool solicited = false;
    bool override_flag = false;
    ip::address_v6 target;
    std::optional<link::mac_address> target_link_layer;
    static parse_result<neighbor_advertisement> parse(const icmpv6_view& m) noexcept;
    std::size_t encoded_size() const noexcept { return 24 + (target_link_layer ? 8 : 0); }
    void encode(mutable_bytes out, const ip::address_v6& src, const ip::address_v6& dst) const noexcept;
};

struct router_advertisement {
    std::uint8_t cur_hop_limit = 0;
    bool managed = false;
    bool other = false;
    std::uint16_t router_lifetime_s = 0;
    std::uint32_t reachable_time_ms = 0;
    std::uint32_t retrans_timer_ms = 0;
    std::optional<link::mac_address> source_link_layer;
    std::optional<std::uint32_t> mtu;
    static parse_result<router_advertisement> parse(const icmpv6_view& m) noexcept;
};

/// A router solicitation (RFC 4861 §4.1): 8 bytes, plus our link-layer address unless the
/// source is unspecified.
struct router_solicitation {
    std::optional<link::mac_address> source_link_layer;
    std::size_t encoded_size() const noexcept { return 8 + (source_link_layer ? 8 : 0); }
    void encode(mutable_bytes out, const ip::address_v6& src, const ip::address_v6& dst) const noexcept;
};

// ---------------------------------------------------------------- IPv6 multicast helpers

/// ff02::1:ffXX:XXXX (RFC 4291 §2.7.1) for an address.
ip::address_v6 solicited_node_multicast(const ip::address_v6& a) noexcept;
/// ff02::1
ip::address_v6 all_nodes_multicast() noexcept;
/// ff02::2
ip::address_v6 all_routers_multicast() noexcept;
/// 33:33 plus the low 32 bits (RFC 2464 §7).
link::mac_address multicast_mac(const ip::address_v6& group) noexcept;
/// fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 4291 appendix A).
ip::address_v6 link_local_from_mac(const link::mac_address& mac) noexcept;

}  // namespace tapstack::wire
