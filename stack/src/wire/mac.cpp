#include <tapstack/wire/mac.hpp>

namespace tapstack::link {
namespace {
int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::optional<mac_address> mac_address::from_string(std::string_view s) noexcept {
    // "02:00:00:00:00:01" or "02-00-00-00-00-01": six two-digit groups, one separator throughout.
    if (s.size() != 17) return std::nullopt;
    const char sep = s[2];
    if (sep != ':' && sep != '-') return std::nullopt;
    mac_address m;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && s[at - 1] != sep) return std::nullopt;
        const int hi = hex_value(s[at]), lo = hex_value(s[at + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        m.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return m;
}

std::string mac_address::to_string() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(17, ':');
    for (std::size_t i = 0; i < 6; ++i) {
        s[i * 3] = digits[bytes[i] >> 4];
        s[i * 3 + 1] = digits[bytes[i] & 0x0f];
    }
    return s;
}

}  // namespace tapstack::link
