#pragma once
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tapstack::link {

struct mac_address {
    std::array<std::uint8_t, 6> bytes{};
    constexpr bool is_broadcast() const noexcept {
        for (auto b : bytes)
            if (b != 0xff) return false;
        return true;
    }
    constexpr bool is_multicast() const noexcept { return (bytes[0] & 1) != 0; }
    static constexpr mac_address broadcast() noexcept { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
    static std::optional<mac_address> from_string(std::string_view s) noexcept;
    std::string to_string() const;
    friend constexpr auto operator<=>(const mac_address&, const mac_address&) noexcept = default;
};

}  // namespace tapstack::link
