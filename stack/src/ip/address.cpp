// Text forms of addresses and endpoints. inet_pton/inet_ntop are pure functions (no I/O), and
// glibc's are strict: four decimal parts for IPv4, no leading zeros, no trailing junk.
#include <tapstack/ip/address.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace tapstack::ip {
namespace {

// Longest accepted text: an IPv6 address with an embedded IPv4 part is 45 characters.
constexpr std::size_t max_address_text = 63;

bool to_c_string(std::string_view s, char (&buf)[max_address_text + 1]) noexcept {
    if (s.empty() || s.size() > max_address_text) return false;
    if (s.find('\0') != std::string_view::npos) return false;
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    return true;
}

// Decimal digits only, no sign, no leading '+', within [0, max].
template <class Int>
std::optional<Int> parse_decimal(std::string_view s, unsigned max) noexcept {
    if (s.empty() || s.size() > 5) return std::nullopt;
    for (char c : s)
        if (c < '0' || c > '9') return std::nullopt;
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v > max) return std::nullopt;
    return static_cast<Int>(v);
}

}  // namespace

std::optional<address_v4> address_v4::from_string(std::string_view s) noexcept {
    char buf[max_address_text + 1];
    if (!to_c_string(s, buf)) return std::nullopt;
    unsigned char out[4];
    if (inet_pton(AF_INET, buf, out) != 1) return std::nullopt;
    return address_v4{out[0], out[1], out[2], out[3]};
}

std::string address_v4::to_string() const {
    const auto b = to_bytes();
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, b.data(), buf, sizeof buf);
    return buf;
}

std::optional<address_v6> address_v6::from_string(std::string_view s) noexcept {
    char buf[max_address_text + 1];
    if (!to_c_string(s, buf)) return std::nullopt;
    bytes_type out{};
    if (inet_pton(AF_INET6, buf, out.data()) != 1) return std::nullopt;
    return address_v6{out};
}

std::string address_v6::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
    return buf;
}

std::optional<address> address::from_string(std::string_view s) noexcept {
    if (auto v4 = address_v4::from_string(s)) return address{*v4};
    // "::ffff:a.b.c.d" stays in the v6 family: the text named an IPv6 address.
    if (auto v6 = address_v6::from_string(s)) return address{*v6};
    return std::nullopt;
}

std::string address::to_string() const { return is_v4() ? to_v4().to_string() : to_v6().to_string(); }

std::optional<interface_address> interface_address::from_string(std::string_view s) noexcept {
    const auto slash = s.find('/');
    // Without a prefix the address stands alone, like `ip addr add 10.0.0.2` (a /32).
    auto addr = address_v4::from_string(s.substr(0, slash));
    if (!addr) return std::nullopt;
    interface_address r{*addr, 32};
    if (slash != std::string_view::npos) {
        auto prefix = parse_decimal<std::uint8_t>(s.substr(slash + 1), 32);
        if (!prefix) return std::nullopt;
        r.prefix_length = *prefix;
    }
    return r;
}

std::string interface_address::to_string() const { return addr.to_string() + "/" + std::to_string(prefix_length); }

std::string endpoint::to_string() const {
    if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(port);
    return address.to_string() + ":" + std::to_string(port);
}

std::optional<endpoint> endpoint::from_string(std::string_view s) noexcept {
    std::optional<ip::address> addr;
    std::string_view rest;
    if (!s.empty() && s.front() == '[') {
        const auto close = s.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        // Brackets hold an IPv6 literal: "[1.2.3.4]:80" is not an endpoint.
        auto v6 = address_v6::from_string(s.substr(1, close - 1));
        if (!v6) return std::nullopt;
        addr = ip::address{*v6};
        rest = s.substr(close + 1);
    } else {
        const auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        auto v4 = address_v4::from_string(s.substr(0, colon));
        if (!v4) return std::nullopt;
        addr = ip::address{*v4};
        rest = s.substr(colon);
    }
    if (rest.empty() || rest.front() != ':') return std::nullopt;
    auto port = parse_decimal<port_number>(rest.substr(1), 65535);
    if (!port) return std::nullopt;
    return endpoint{*addr, *port};
}

std::string four_tuple::to_string() const { return local.to_string() + " <-> " + remote.to_string(); }

std::size_t hash_value(const four_tuple& t, std::uint64_t key) noexcept {
    // A multiply-xorshift mix (the splitmix64 finalizer) over the ports and the two 16-byte
    // address keys, started from the caller's secret. Like Linux's inet_ehashfn (jhash over the
    // tuple with a boot-time random seed), the secret is what keeps a remote peer from aiming
    // its tuples at one bucket; the mix only has to spread them.
    const auto mix = [](std::uint64_t h, std::uint64_t v) noexcept {
        h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
        return h;
    };
    const auto load64 = [](const address_v6::bytes_type& b, std::size_t at) noexcept {
        std::uint64_t v;
        std::memcpy(&v, b.data() + at, sizeof v);
        return v;
    };
    const auto& la = t.local.address.key_bytes();
    const auto& ra = t.remote.address.key_bytes();
    std::uint64_t h = key ^ ((std::uint64_t{t.local.port} << 16) | t.remote.port);
    h = mix(h, load64(la, 0));
    h = mix(h, load64(la, 8));
    h = mix(h, load64(ra, 0));
    h = mix(h, load64(ra, 8));
    return static_cast<std::size_t>(h);
}

}  // namespace tapstack::ip
