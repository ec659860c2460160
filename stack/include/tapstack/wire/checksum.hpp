#pragma once
// The Internet checksum (RFC 1071), summed 8 bytes per step with end-around carry.
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
void add_pseudo_header(checksum_accumulator& acc, const ip::address& src, const ip::address& dst,
                       std::uint8_t protocol, std::uint32_t upper_layer_length) noexcept;

}  // namespace tapstack::wire
