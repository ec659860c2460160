#pragma once
// Family-neutral addresses and endpoints. IPv4 is stored as an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), so one 16-byte key serves both families in every table.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tapstack::ip {

enum class family : std::uint8_t { v4, v6 };

class address_v4 {
public:
    constexpr address_v4() noexcept = default;
    constexpr explicit address_v4(std::uint32_t host_order) noexcept : value_{host_order} {}
    constexpr address_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
        : value_{(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d} {}
    constexpr std::uint32_t to_uint() const noexcept { return value_; }
    constexpr std::array<std::uint8_t, 4> to_bytes() const noexcept {
        return {std::uint8_t(value_ >> 24), std::uint8_t(value_ >> 16), std::uint8_t(value_ >> 8),
                std::uint8_t(value_)};
    }
    constexpr bool is_unspecified() const noexcept { return value_ == 0; }
    constexpr bool is_broadcast() const noexcept { return value_ == 0xffffffffu; }
    constexpr bool is_multicast() const noexcept { return (value_ >> 28) == 0xe; }
    constexpr bool is_loopback() const noexcept { return (value_ >> 24) == 127; }
    static constexpr address_v4 any() noexcept { return address_v4{}; }
    static constexpr address_v4 broadcast() noexcept { return address_v4{0xffffffffu}; }
    static std::optional<address_v4> from_string(std::string_view s) noexcept;
    std::string to_string() const;
    friend constexpr auto operator<=>(address_v4, address_v4) noexcept = default;

private:
    std::uint32_t value_ = 0;
};

class address_v6 {
public:
    using bytes_type = std::array<std::uint8_t, 16>;
    constexpr address_v6() noexcept = default;
    constexpr explicit address_v6(const bytes_type& b) noexcept : bytes_{b} {}
    constexpr const bytes_type& to_bytes() const noexcept { return bytes_; }
    constexpr bool is_unspecified() const noexcept { return bytes_ == bytes_type{}; }
    constexpr bool is_v4_mapped() const noexcept {
        for (int i = 0; i < 10; ++i)
            if (bytes_[i] != 0) return false;
        return bytes_[10] == 0xff && bytes_[11] == 0xff;
    }
    constexpr bool is_link_local() const noexcept { return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80; }
    constexpr bool is_multicast() const noexcept { return bytes_[0] == 0xff; }
    static constexpr address_v6 any() noexcept { return address_v6{}; }
    static std::optional<address_v6> from_string(std::string_view s) noexcept;
    std::string to_string() const;
    friend constexpr auto operator<=>(const address_v6&, const address_v6&) noexcept = default;

private:
    bytes_type bytes_{};
};

/// Either family. The wildcard of a family is its unspecified address.
class address {
public:
    constexpr address() noexcept : address{address_v4{}} {}
    constexpr address(address_v4 a) noexcept : family_{family::v4} {  // NOLINT: implicit like asio
        const auto b = a.to_bytes();
        bytes_[10] = 0xff;
        bytes_[11] = 0xff;
        for (int i = 0; i < 4; ++i) bytes_[12 + i] = b[i];
    }
    constexpr address(const address_v6& a) noexcept : family_{family::v6}, bytes_{a.to_bytes()} {}  // NOLINT
    constexpr family get_family() const noexcept { return family_; }
    constexpr bool is_v4() const noexcept { return family_ == family::v4; }
    constexpr bool is_v6() const noexcept { return family_ == family::v6; }
    constexpr address_v4 to_v4() const noexcept { return address_v4{bytes_[12], bytes_[13], bytes_[14], bytes_[15]}; }
    constexpr address_v6 to_v6() const noexcept { return address_v6{bytes_}; }
    constexpr bool is_unspecified() const noexcept {
        return is_v4() ? to_v4().is_unspecified() : to_v6().is_unspecified();
    }
    /// The 16 bytes used as a hash and table key (IPv4 mapped).
    constexpr const address_v6::bytes_type& key_bytes() const noexcept { return bytes_; }
    static std::optional<address> from_string(std::string_view s) noexcept;
    std::string to_string() const;
    friend constexpr auto operator<=>(const address&, const address&) noexcept = default;

private:
    family family_;
    address_v6::bytes_type bytes_{};
};

/// An address with a prefix length, as given on the command line ("10.0.0.2/24").
struct interface_address {
    address_v4 addr;
    std::uint8_t prefix_length = 32;
    constexpr std::uint32_t netmask() const noexcept {
        return prefix_length == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix_length);
    }
    constexpr bool contains(address_v4 other) const noexcept {
        return (other.to_uint() & netmask()) == (addr.to_uint() & netmask());
    }
    constexpr address_v4 directed_broadcast() const noexcept { return address_v4{addr.to_uint() | ~netmask()}; }
    /// "A.B.C.D/N" with N in 0..32; a bare "A.B.C.D" is a /32 (as `ip addr add` takes it).
    static std::optional<interface_address> from_string(std::string_view s) noexcept;
    std::string to_string() const;
};

/// An IPv6 address with a prefix length ("2001:db8::2/64"); a bare address is a /128.
struct interface_address_v6 {
    address_v6 addr;
    std::uint8_t prefix_length = 128;
    constexpr bool contains(const address_v6& other) const noexcept {
        const auto& a = addr.to_bytes();
        const auto& b = other.to_bytes();
        for (unsigned bit = 0; bit < prefix_length && bit < 128; bit += 8) {
            const unsigned n = prefix_length - bit >= 8 ? 8u : prefix_length - bit;
            const auto mask = static_cast<std::uint8_t>(0xff00u >> n);
            if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) return false;
        }
        return true;
    }
    static std::optional<interface_address_v6> from_string(std::string_view s) noexcept {
        const auto slash = s.find('/');
        auto a = address_v6::from_string(s.substr(0, slash));
        if (!a || a->is_v4_mapped()) return std::nullopt;
        interface_address_v6 r{*a, 128};
        if (slash == std::string_view::npos) return r;
        const auto digits = s.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        unsigned n = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + static_cast<unsigned>(c - '0');
        }
        if (n > 128) return std::nullopt;
        r.prefix_length = static_cast<std::uint8_t>(n);
        return r;
    }
    std::string to_string() const { return addr.to_string() + "/" + std::to_string(prefix_length); }
};

/// Port numbers get their own type where a mix-up with other 16-bit fields would compile.
using port_number = std::uint16_t;

struct endpoint {
    ip::address address;
    port_number port = 0;
    std::string to_string() const;
    /// Parses "A.B.C.D:PORT" or "[v6]:PORT".
    static std::optional<endpoint> from_string(std::string_view s) noexcept;
    friend constexpr auto operator<=>(const endpoint&, const endpoint&) noexcept = default;
};

/// The 4-tuple that names a connection, seen from our side. Prints as "local <-> remote".
struct four_tuple {
    endpoint local;
    endpoint remote;
    std::string to_string() const;
    friend constexpr auto operator<=>(const four_tuple&, const four_tuple&) noexcept = default;
};

/// A 64-bit hash of the tuple. `key` is a secret (the stack draws one from its seed): with it,
/// a peer cannot choose ports or addresses that pile into one bucket of a connection table.
std::size_t hash_value(const four_tuple& t, std::uint64_t key = 0) noexcept;

/// RFC 4862 §5.4: where duplicate address detection stands for one of our addresses
/// (stack::address_state names it in the stack's interface).
enum class address_state : std::uint8_t { absent, tentative, preferred, duplicate };

}  // namespace tapstack::ip
