#pragma once
// Big-endian loads and stores over byte spans. Callers check bounds first (views do it in parse()).
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace tapstack {

using bytes = std::span<const std::byte>;
using mutable_bytes = std::span<std::byte>;

inline std::uint8_t load_u8(bytes b, std::size_t off) noexcept {
    assert(off < b.size());
    return static_cast<std::uint8_t>(b[off]);
}
inline std::uint16_t load_be16(bytes b, std::size_t off) noexcept {
    assert(off + 2 <= b.size());
    return static_cast<std::uint16_t>((static_cast<unsigned>(b[off]) << 8) | static_cast<unsigned>(b[off + 1]));
}
inline std::uint32_t load_be32(bytes b, std::size_t off) noexcept {
    assert(off + 4 <= b.size());
    return (static_cast<std::uint32_t>(b[off]) << 24) | (static_cast<std::uint32_t>(b[off + 1]) << 16) |
        (static_cast<std::uint32_t>(b[off + 2]) << 8) | static_cast<std::uint32_t>(b[off + 3]);
}
inline void store_u8(mutable_bytes b, std::size_t off, std::uint8_t v) noexcept {
    assert(off < b.size());
    b[off] = std::byte{v};
}
inline void store_be16(mutable_bytes b, std::size_t off, std::uint16_t v) noexcept {
    assert(off + 2 <= b.size());
    b[off] = std::byte(v >> 8);
    b[off + 1] = std::byte(v & 0xff);
}
inline void store_be32(mutable_bytes b, std::size_t off, std::uint32_t v) noexcept {
    assert(off + 4 <= b.size());
    b[off] = std::byte(v >> 24);
    b[off + 1] = std::byte((v >> 16) & 0xff);
    b[off + 2] = std::byte((v >> 8) & 0xff);
    b[off + 3] = std::byte(v & 0xff);
}
inline void copy_bytes(mutable_bytes dst, std::size_t off, bytes src) noexcept {
    assert(off + src.size() <= dst.size());
    if (!src.empty()) std::memcpy(dst.data() + off, src.data(), src.size());
}

/// Views a string literal or std::string as bytes (tests and apps).
template <class Chars>
bytes as_bytes_of(const Chars& s) noexcept {
    return std::as_bytes(std::span{s.data(), s.size()});
}

}  // namespace tapstack
