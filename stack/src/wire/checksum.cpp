// The Internet checksum (RFC 1071).
//
// RFC 1071 §2(B): the one's-complement sum is independent of byte order, so each piece is summed
// in the machine's native order, many bytes per step, folded to 16 bits, and only then put into
// network order before it joins the running sum. Pieces of odd length leave the running sum at
// odd parity: the next piece's first byte is the low byte of a big-endian word.
//
// Two implementations of that native-order sum give the same folded value for any input: a
// portable scalar one (four 64-bit accumulators; SSE2 measured no faster, so there is none) and
// AVX2 (32 bytes a step, 1.7x the scalar one on a 1468-byte segment). The build targets baseline x86-64, so AVX2 is compiled per function
// (`target("avx2")`) and chosen once, on first use, by CPUID; later calls cost one relaxed load
// and an indirect call. Pieces shorter than 32 bytes (headers, pseudo-headers) skip the dispatch.
#include <tapstack/wire/checksum.hpp>

#include <atomic>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define TAPSTACK_CHECKSUM_X86 1
#else
#define TAPSTACK_CHECKSUM_X86 0
#endif

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
    s = (s & 0xffffu) + (s >> 16);  // at most 17 bits
    s = (s & 0xffffu) + (s >> 16);  // 16 bits
    return static_cast<std::uint16_t>(s);
}

// Adds the last n < 32 bytes to s, 8, 4, 2 and 1 at a time. A trailing odd byte is the high byte
// of a zero-padded word (RFC 1071 §4.1).
inline std::uint64_t add_tail(std::uint64_t s, const std::byte* p, std::size_t n) noexcept {
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
    return s;
}

// One's-complement sum of a buffer as native-order 16-bit words, folded to 16 bits.
std::uint16_t native_sum_scalar(const std::byte* p, std::size_t n) noexcept {
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
    const std::uint64_t s = add_carry(add_carry(a0, a1), add_carry(a2, a3));
    return fold16(add_tail(s, p, n));
}

#if TAPSTACK_CHECKSUM_X86
// The vector path uses the scalar path's trick lane by lane: every 32-bit half of the data is
// zero-extended into a 64-bit lane (one AND, one shift) and added there. The halves of 64 bytes
// are first summed among themselves (less than 2^34 a lane), so the running sum sees one add per
// step, and no lane can carry out before 2^30 steps (64 GiB); the lanes are joined with
// end-around carry only at the end. Loads are unaligned: any start address works (RFC 1071
// §2(B): the sum does not depend on how whole 16-bit words are grouped, and a piece always
// starts a word).

// memcpy, not a cast to __m256i*: any alignment, and no reinterpret_cast (it compiles to one
// unaligned load).
__attribute__((target("avx2"))) inline __m256i load256(const std::byte* p) noexcept {
    __m256i v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

__attribute__((target("avx2"))) inline __m256i halves_avx2(__m256i v, __m256i low32) noexcept {
    return _mm256_add_epi64(_mm256_and_si256(v, low32), _mm256_srli_epi64(v, 32));
}

__attribute__((target("avx2"))) std::uint16_t native_sum_avx2(const std::byte* p, std::size_t n) noexcept {
    const __m256i low32 = _mm256_set1_epi64x(0xffffffff);
    // Two running sums, 128 bytes a step: the adds of one do not wait for the other's.
    __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
    while (n >= 128) {
        const __m256i v0 = load256(p);
        const __m256i v1 = load256(p + 32);
        const __m256i v2 = load256(p + 64);
        const __m256i v3 = load256(p + 96);
        a0 = _mm256_add_epi64(a0, _mm256_add_epi64(halves_avx2(v0, low32), halves_avx2(v1, low32)));
        a1 = _mm256_add_epi64(a1, _mm256_add_epi64(halves_avx2(v2, low32), halves_avx2(v3, low32)));
        p += 128;
        n -= 128;
    }
    while (n >= 32) {
        a0 = _mm256_add_epi64(a0, halves_avx2(load256(p), low32));
        p += 32;
        n -= 32;
    }
    // Each lane's halves again, so the eight values and their total stay below 2^37.
    const __m256i h = _mm256_add_epi64(halves_avx2(a0, low32), halves_avx2(a1, low32));
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    t = _mm_add_epi64(t, _mm_unpackhi_epi64(t, t));
    const auto s = static_cast<std::uint64_t>(_mm_cvtsi128_si64(t));
    return fold16(add_tail(s, p, n));
}
#endif

using native_sum_fn = std::uint16_t (*)(const std::byte*, std::size_t) noexcept;

native_sum_fn impl_fn(detail::checksum_impl impl) noexcept {
    switch (impl) {
#if TAPSTACK_CHECKSUM_X86
    case detail::checksum_impl::avx2: return &native_sum_avx2;
#endif
    default: return &native_sum_scalar;
    }
}

detail::checksum_impl best_impl() noexcept {
#if TAPSTACK_CHECKSUM_X86
    __builtin_cpu_init();  // needed only if this runs before the constructors (it is cheap)
    return __builtin_cpu_supports("avx2") ? detail::checksum_impl::avx2 : detail::checksum_impl::scalar;
#else
    return detail::checksum_impl::scalar;
#endif
}

std::uint16_t resolve_native_sum(const std::byte* p, std::size_t n) noexcept;

// The chosen implementation; resolve_native_sum until the first call picks one. Constant
// initialisation, so it is valid during other translation units' static initialisation too.
// Two threads racing on the first call pick the same function.
std::atomic<native_sum_fn> active_native_sum{&resolve_native_sum};

std::uint16_t resolve_native_sum(const std::byte* p, std::size_t n) noexcept {
    const native_sum_fn f = impl_fn(best_impl());
    active_native_sum.store(f, std::memory_order_relaxed);
    return f(p, n);
}

inline std::uint16_t native_sum(const std::byte* p, std::size_t n) noexcept {
    // Below 32 bytes the tail alone is as fast as any path, without the indirect call.
    if (n < 32) return fold16(add_tail(0, p, n));
    return active_native_sum.load(std::memory_order_relaxed)(p, n);
}

inline std::uint16_t to_network_order(std::uint16_t native) noexcept {
    if constexpr (std::endian::native == std::endian::little)
        return static_cast<std::uint16_t>((native << 8) | (native >> 8));
    else
        return native;
}

}  // namespace

namespace detail {

bool checksum_impl_available(checksum_impl impl) noexcept {
    switch (impl) {
    case checksum_impl::scalar: return true;
#if TAPSTACK_CHECKSUM_X86
    case checksum_impl::avx2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2");
#endif
    default: return false;
    }
}

checksum_impl checksum_impl_selected() noexcept {
    const native_sum_fn f = active_native_sum.load(std::memory_order_relaxed);
    if (f == &resolve_native_sum) return best_impl();
    for (const checksum_impl i : {checksum_impl::scalar, checksum_impl::avx2})
        if (f == impl_fn(i)) return i;
    return checksum_impl::scalar;
}

checksum_impl select_checksum_impl(checksum_impl impl) noexcept {
    const checksum_impl previous = checksum_impl_selected();
    if (checksum_impl_available(impl)) active_native_sum.store(impl_fn(impl), std::memory_order_relaxed);
    return previous;
}

std::uint16_t folded_sum(checksum_impl impl, bytes data) noexcept {
    if (!checksum_impl_available(impl)) impl = checksum_impl::scalar;
    return to_network_order(impl_fn(impl)(data.data(), data.size()));
}

}  // namespace detail

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

std::uint16_t checksum_accumulator::finish() const noexcept { return static_cast<std::uint16_t>(~folded()); }

std::uint16_t internet_checksum(bytes data) noexcept {
    checksum_accumulator acc;
    acc.add(data);
    return acc.finish();
}

void add_pseudo_header(checksum_accumulator& acc, const ip::address& src, const ip::address& dst, std::uint8_t protocol,
                       std::uint32_t upper_layer_length) noexcept {
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
