// The Internet checksum (RFC 1071).
//
// RFC 1071 §2(B): the one's-complement sum is independent of byte order, so each piece is summed
// in the machine's native order, 8 bytes per step with end-around carry, folded to 16 bits, and
// only then put into network order before it joins the running sum. Pieces of odd length leave
// the running sum at odd parity: the next piece's first byte is the low byte of a big-endian word.
#include <tapstack/wire/checksum.hpp>

#include <bit>
#include <cstring>

namespace tapstack::wire {
namespace {

// Adds with end-around carry: a carry out of bit 63 wraps into bit 0 (RFC 1071 §2(C)).
inline std::uint64_t add_carry(std::uint64_t a, std::uint64_t b) noexcept {
    const std::uint64_t s = a + b;
    return s + (s < a ? 1u : 0u);
}

inline std::uint16_t fold16(std::uint64_t s) noexcept {
    s = (s & 0xffffffffu) + (s >> 32);  // at most 33 bits
    s = (s & 0xffffffffu) + (s >> 32);  // at most 32 bits
    s = (s & 0xffffu) + (s >> 16);      // at most 17 bits
    s = (s & 0xffffu) + (s >> 16);      // 16 bits
    return static_cast<std::uint16_t>(s);
}

// One's-complement sum of an even-aligned buffer as native-order 16-bit words, folded to 16 bits.
// A trailing odd byte is the high byte of a zero-padded word (RFC 1071 §4.1).
std::uint16_t native_sum(const std::byte* p, std::size_t n) noexcept {
    // The bulk: each 8-byte load is added as two 32-bit halves into one of four 64-bit
    // accumulators. No carry can leave an accumulator before 2^31 loads (16 GiB), so there is no
    // end-around carry to chain through, and the four sums proceed in parallel (1.7-1.9x the
    // single carry chain on a 1448-byte segment). 2^32 = 1 modulo 2^16 - 1, so the halves sum
    // to the same one's-complement value as the 16-bit words they hold.
    std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    while (n >= 32) {
        std::uint64_t w0, w1, w2, w3;
        std::memcpy(&w0, p, 8);
        std::memcpy(&w1, p + 8, 8);
        std::memcpy(&w2, p + 16, 8);
        std::memcpy(&w3, p + 24, 8);
        a0 += (w0 & 0xffffffffu) + (w0 >> 32);
        a1 += (w1 & 0xffffffffu) + (w1 >> 32);
        a2 += (w2 & 0xffffffffu) + (w2 >> 32);
        a3 += (w3 & 0xffffffffu) + (w3 >> 32);
        p += 32;
        n -= 32;
    }
    std::uint64_t s = add_carry(add_carry(a0, a1), add_carry(a2, a3));
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        s = add_carry(s, w);
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        std::uint32_t w;
        std::memcpy(&w, p, 4);
        s = add_carry(s, w);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        std::uint16_t w;
        std::memcpy(&w, p, 2);
        s = add_carry(s, w);
        p += 2;
        n -= 2;
    }
    if (n == 1) {
        const std::byte pair[2] = {*p, std::byte{0}};
        std::uint16_t w;
        std::memcpy(&w, pair, 2);
        s = add_carry(s, w);
    }
    return fold16(s);
}

inline std::uint16_t to_network_order(std::uint16_t native) noexcept {
    if constexpr (std::endian::native == std::endian::little)
        return static_cast<std::uint16_t>((native << 8) | (native >> 8));
    else
        return native;
}

}  // namespace

void checksum_accumulator::add(bytes data) noexcept {
    if (data.empty()) return;
    if (odd_) {
        // Completes the word begun by the previous piece: this byte is its low half.
        sum_ += static_cast<std::uint8_t>(data[0]);
        data = data.subspan(1);
        odd_ = false;
    }
    sum_ += to_network_order(native_sum(data.data(), data.size()));
    odd_ = (data.size() & 1u) != 0;
}

void checksum_accumulator::add_u16(std::uint16_t v) noexcept {
    // At odd parity the value straddles two words: its high byte is a low half, and vice versa.
    sum_ += odd_ ? static_cast<std::uint16_t>((v >> 8) | (v << 8)) : v;
}

void checksum_accumulator::add_u32(std::uint32_t v) noexcept {
    add_u16(static_cast<std::uint16_t>(v >> 16));
    add_u16(static_cast<std::uint16_t>(v & 0xffff));
}

std::uint16_t checksum_accumulator::folded() const noexcept {
    // With odd parity the pending high byte is already in place as `byte << 8`: the zero pad of
    // RFC 1071 §4.1 adds nothing.
    return fold16(sum_);
}

std::uint16_t checksum_accumulator::finish() const noexcept {
    return static_cast<std::uint16_t>(~folded());
}

std::uint16_t internet_checksum(bytes data) noexcept {
    checksum_accumulator acc;
    acc.add(data);
    return acc.finish();
}

void add_pseudo_header(checksum_accumulator& acc, const ip::address& src, const ip::address& dst,
                       std::uint8_t protocol, std::uint32_t upper_layer_length) noexcept {
    if (src.is_v4() && dst.is_v4()) {
        // RFC 793 §3.1 / RFC 768: source, destination, zero, protocol, TCP/UDP length (16 bits).
        acc.add_u32(src.to_v4().to_uint());
        acc.add_u32(dst.to_v4().to_uint());
        acc.add_u16(protocol);
        acc.add_u16(static_cast<std::uint16_t>(upper_layer_length));
        return;
    }
    // RFC 8200 §8.1: source, destination (16 bytes each), 32-bit upper-layer length, three zero
    // bytes and the next header. A v4 address here is taken in its mapped form.
    acc.add(std::as_bytes(std::span{src.key_bytes()}));
    acc.add(std::as_bytes(std::span{dst.key_bytes()}));
    acc.add_u32(upper_layer_length);
    acc.add_u32(protocol);
}

}  // namespace tapstack::wire
