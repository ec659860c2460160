#pragma once
// Sequence numbers wrap modulo 2^32: comparisons are by signed distance (RFC 9293 §3.4).
#include <compare>
#include <cstdint>

namespace tapstack::tcp {

class seq_number {
public:
    constexpr seq_number() noexcept = default;
    constexpr explicit seq_number(std::uint32_t v) noexcept : value_{v} {}
    constexpr std::uint32_t value() const noexcept { return value_; }

    constexpr seq_number operator+(std::uint32_t n) const noexcept { return seq_number{value_ + n}; }
    constexpr seq_number operator-(std::uint32_t n) const noexcept { return seq_number{value_ - n}; }
    constexpr seq_number& operator+=(std::uint32_t n) noexcept {
        value_ += n;
        return *this;
    }
    /// Signed distance from b to a: positive when a is after b.
    friend constexpr std::int32_t operator-(seq_number a, seq_number b) noexcept {
        return static_cast<std::int32_t>(a.value_ - b.value_);
    }
    friend constexpr bool operator==(seq_number, seq_number) noexcept = default;
    friend constexpr bool operator<(seq_number a, seq_number b) noexcept { return (a - b) < 0; }
    friend constexpr bool operator>(seq_number a, seq_number b) noexcept { return (a - b) > 0; }
    friend constexpr bool operator<=(seq_number a, seq_number b) noexcept { return (a - b) <= 0; }
    friend constexpr bool operator>=(seq_number a, seq_number b) noexcept { return (a - b) >= 0; }

private:
    std::uint32_t value_ = 0;
};

/// lo <= s < hi in sequence space.
constexpr bool seq_in_range(seq_number s, seq_number lo, seq_number hi) noexcept { return lo <= s && s < hi; }
constexpr seq_number seq_max(seq_number a, seq_number b) noexcept { return a < b ? b : a; }
constexpr seq_number seq_min(seq_number a, seq_number b) noexcept { return a < b ? a : b; }

}  // namespace tapstack::tcp
