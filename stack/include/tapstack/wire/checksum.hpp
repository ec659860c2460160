#pragma once
// The Internet checksum (RFC 1071): a one's-complement sum, vectorised where the CPU allows.
#include <cstdint>
#include <tapstack/base/bytes.hpp>
#include <tapstack/ip/address.hpp>

namespace tapstack::wire {

/// Accumulates a one's-complement sum over several pieces (pseudo-header, header, payload).
/// Pieces of odd length are handled: the next piece continues at the right byte parity.
class checksum_accumulator {
public:
    void add(bytes data) noexcept;
    void add_u16(std::uint16_t v) noexcept;
    void add_u32(std::uint32_t v) noexcept;
    /// The 16-bit one's-complement of the folded sum, ready to store in a header.
    std::uint16_t finish() const noexcept;
    /// The folded sum itself (0xffff for a buffer whose checksum verifies).
    std::uint16_t folded() const noexcept;

private:
    std::uint64_t sum_ = 0;
    bool odd_ = false;  // an odd number of bytes so far: the next byte is a low byte
};

/// Checksum of one buffer (RFC 1071): the value to store; a buffer that includes a correct
/// checksum field yields 0.
std::uint16_t internet_checksum(bytes data) noexcept;

/// Adds the TCP/UDP pseudo-header for either family (RFC 793 §3.1 / RFC 768 / RFC 8200 §8.1).
void add_pseudo_header(checksum_accumulator& acc, const ip::address& src, const ip::address& dst, std::uint8_t protocol,
                       std::uint32_t upper_layer_length) noexcept;

namespace detail {

/// The implementations of the one's-complement sum behind checksum_accumulator::add. Exposed for
/// tests and benchmarks only; not part of the API.
enum class checksum_impl : std::uint8_t {
    scalar,  ///< portable: four 64-bit accumulators, 8 bytes per load
    avx2,  ///< x86-64 with AVX2 (checked by CPUID): 32 bytes per load
};

/// Whether `impl` is compiled in and this CPU can run it.
bool checksum_impl_available(checksum_impl impl) noexcept;

/// The implementation checksum_accumulator::add uses for pieces of 32 bytes or more (the fastest
/// available one, chosen on first use, unless select_checksum_impl changed it).
checksum_impl checksum_impl_selected() noexcept;

/// Makes checksum_accumulator::add use `impl` if it is available; returns the previous choice.
/// For tests and benchmarks that compare implementations: not thread-safe against concurrent
/// checksums in the sense that those may use either implementation (both give the same result).
checksum_impl select_checksum_impl(checksum_impl impl) noexcept;

/// The folded one's-complement sum of `data` as big-endian 16-bit words (RFC 1071), a trailing
/// byte padded with zero, computed by `impl` (by the scalar one if `impl` is not available).
std::uint16_t folded_sum(checksum_impl impl, bytes data) noexcept;

}  // namespace detail

}  // namespace tapstack::wire
