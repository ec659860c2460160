#pragma once
#include <array>
#include <optional>
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/seq_number.hpp>
#include <tapstack/wire/ethernet.hpp>

namespace tapstack::wire {

using tcp::seq_number;

constexpr std::size_t tcp_min_header_size = 20;
constexpr std::size_t tcp_max_options_size = 40;

namespace tcp_option_kind {
constexpr std::uint8_t end = 0, nop = 1, mss = 2, window_scale = 3, sack_permitted = 4, sack = 5, timestamps = 8;
}

struct tcp_flags {
    bool fin = false, syn = false, rst = false, psh = false, ack = false, urg = false, ece = false, cwr = false;
    std::uint8_t to_byte() const noexcept;
    static tcp_flags from_byte(std::uint8_t b) noexcept;
    friend bool operator==(const tcp_flags&, const tcp_flags&) noexcept = default;
};

struct sack_block {
    seq_number left;  // first sequence number of the block
    seq_number right;  // one past the last
    friend bool operator==(const sack_block&, const sack_block&) noexcept = default;
};

struct tcp_timestamps {
    std::uint32_t value = 0;  // TSval
    std::uint32_t echo = 0;  // TSecr
    friend bool operator==(const tcp_timestamps&, const tcp_timestamps&) noexcept = default;
};

/// The options we understand, decoded. Unknown options are skipped by their declared length.
struct tcp_options {
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> window_scale;
    bool sack_permitted = false;
    std::optional<tcp_timestamps> timestamps;
    std::uint8_t sack_count = 0;
    std::array<sack_block, 4> sack{};
    /// Bytes encode_tcp() writes for the options, in Linux's layout (tcp_options_write): MSS;
    /// SACKOK+TS or NOP NOP TS; NOP WS; NOP NOP SACKOK (without TS); NOP NOP SACK blocks. Always a
    /// multiple of 4 and at most 40: SACK blocks that do not fit are left out (3 fit next to
    /// timestamps, 4 without), so decode(encode(x)) keeps only the first that many blocks.
    std::size_t encoded_size() const noexcept;
    friend bool operator==(const tcp_options&, const tcp_options&) noexcept = default;
};

/// A decoded segment. `payload` borrows from the frame it was parsed from (or the send buffer).
struct tcp_segment {
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    seq_number seq;
    seq_number ack;
    tcp_flags flags;
    std::uint16_t window = 0;  // raw field, unscaled
    std::uint16_t urgent_pointer = 0;
    tcp_options options;
    bytes payload;
    /// Outbound only: non-zero when the segment is a TSO super-segment (payload larger than
    /// this) that the link cuts into pieces of gso_size payload bytes; encode_tcp then leaves
    /// the checksum partial (pseudo-header sum only, as virtio's NEEDS_CSUM expects).
    std::uint16_t gso_size = 0;

    /// Sequence space the segment occupies: payload plus one each for SYN and FIN.
    std::uint32_t sequence_length() const noexcept {
        return static_cast<std::uint32_t>(payload.size()) + (flags.syn ? 1u : 0u) + (flags.fin ? 1u : 0u);
    }
    std::size_t header_size() const noexcept { return tcp_min_header_size + options.encoded_size(); }
    std::size_t encoded_size() const noexcept { return header_size() + payload.size(); }
};

class tcp_view {
public:
    /// Checks 20 <= data offset*4 <= buffer and the pseudo-header checksum over the whole segment.
    static parse_result<tcp_view> parse(bytes segment, const ip::address& src, const ip::address& dst) noexcept;
    /// Same, without the checksum (for frames whose checksum the TAP offload left partial).
    static parse_result<tcp_view> parse_unchecked(bytes segment) noexcept;
    std::uint16_t source_port() const noexcept { return load_be16(bytes_, 0); }
    std::uint16_t destination_port() const noexcept { return load_be16(bytes_, 2); }
    seq_number seq() const noexcept { return seq_number{load_be32(bytes_, 4)}; }
    seq_number ack() const noexcept { return seq_number{load_be32(bytes_, 8)}; }
    std::uint8_t header_length() const noexcept { return static_cast<std::uint8_t>((load_u8(bytes_, 12) >> 4) * 4); }
    tcp_flags flags() const noexcept { return tcp_flags::from_byte(load_u8(bytes_, 13)); }
    std::uint16_t window() const noexcept { return load_be16(bytes_, 14); }
    std::uint16_t urgent_pointer() const noexcept { return load_be16(bytes_, 18); }
    bytes options() const noexcept {
        return bytes_.subspan(tcp_min_header_size, header_length() - tcp_min_header_size);
    }
    bytes payload() const noexcept { return bytes_.subspan(header_length()); }
    /// Decodes header and options; fails with bad_option when an option is malformed.
    parse_result<tcp_segment> decode() const noexcept;

private:
    explicit tcp_view(bytes b) noexcept : bytes_{b} {}
    bytes bytes_;
};

/// Decodes an options area (RFC 9293 §3.1; kinds per RFC 7323, 2018). Skips unknown kinds by length.
parse_result<tcp_options> decode_tcp_options(bytes options) noexcept;

/// Writes seg.encoded_size() bytes (header, options, payload) with the pseudo-header checksum
/// (for a super-segment, seg.gso_size != 0 and payload > gso_size: the partial checksum).
/// `partial_checksum` leaves every segment's checksum partial, whatever its size (transmit
/// checksum offload, stack_config::tx_checksum_offload): the link or the peer completes it.
void encode_tcp(const tcp_segment& seg, mutable_bytes out, const ip::address& src, const ip::address& dst,
                bool partial_checksum = false) noexcept;

}  // namespace tapstack::wire
