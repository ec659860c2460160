// The reference segmenter and checksummer (reference_gso.hpp).
#include "reference_gso.hpp"

#include <algorithm>
#include <tapstack/wire/checksum.hpp>

namespace tapstack::testing {
namespace {

constexpr std::size_t eth = 14;
constexpr std::uint16_t ethertype_ipv4 = 0x0800, ethertype_ipv6 = 0x86dd;

/// One's complement addition of 16-bit words (RFC 1071).
std::uint16_t ones_add(std::uint16_t a, std::uint16_t b) {
    std::uint32_t s = std::uint32_t{a} + b;
    s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

/// Sum from `start` to the end with the seed in place at `field`, complemented and stored:
/// what completing a CHECKSUM_PARTIAL frame does (virtio 1.x §5.1.6.2).
void complete(std::vector<std::byte>& f, std::size_t start, std::size_t field) {
    wire::checksum_accumulator acc;
    acc.add(bytes{f}.subspan(start));
    store_be16(f, field, acc.finish());
}

}  // namespace

std::vector<std::vector<std::byte>> reference_wire_frames(bytes frame, const link::vnet_header& h, std::string& error) {
    std::vector<std::vector<std::byte>> out;
    const bool needs_csum = (h.flags & link::vnet_header::flag_needs_csum) != 0;
    const std::uint8_t gso = h.gso_type & 0x7f;
    if (gso == 0) {
        std::vector<std::byte> f(frame.begin(), frame.end());
        if (needs_csum) {
            if (std::size_t{h.csum_start} + h.csum_offset + 2 > f.size()) {
                error = "csum_start + csum_offset beyond the frame";
                return {};
            }
            complete(f, h.csum_start, std::size_t{h.csum_start} + h.csum_offset);
        }
        out.push_back(std::move(f));
        return out;
    }
    if (frame.size() < eth + 20) {
        error = "GSO frame too short";
        return {};
    }
    const std::uint16_t type = load_be16(frame, 12);
    const bool v4 = gso == 1;
    if (!(v4 && type == ethertype_ipv4) && !(gso == 4 && type == ethertype_ipv6)) {
        error = "gso_type does not match the frame's IP version";
        return {};
    }
    if (!needs_csum) {
        error = "GSO frame without NEEDS_CSUM";
        return {};
    }
    const std::size_t l4 = v4 ? eth + std::size_t{load_u8(frame, eth) & 0x0fu} * 4 : eth + 40;
    if (frame.size() < l4 + 20) {
        error = "GSO frame too short for TCP";
        return {};
    }
    const std::size_t hdr = l4 + static_cast<std::size_t>(load_u8(frame, l4 + 12) >> 4) * 4;
    if (h.csum_start != l4 || h.csum_offset != 16) {
        error = "csum_start/csum_offset not TCP's checksum";
        return {};
    }
    if (h.hdr_len != hdr) {
        error = "hdr_len is not the header length";
        return {};
    }
    if (h.gso_size == 0 || hdr > frame.size()) {
        error = "gso_size 0 or headers beyond the frame";
        return {};
    }
    const std::size_t payload = frame.size() - hdr;
    const std::size_t pieces = std::max<std::size_t>(1, (payload + h.gso_size - 1) / h.gso_size);
    const std::uint16_t seed = load_be16(frame, l4 + 16);
    const std::uint32_t seq0 = load_be32(frame, l4 + 4);
    const std::uint16_t id0 = v4 ? load_be16(frame, eth + 4) : 0;
    const std::uint8_t flags0 = load_u8(frame, l4 + 13);
    const auto l4_len0 = static_cast<std::uint16_t>(frame.size() - l4);
    for (std::size_t i = 0; i < pieces; ++i) {
        const std::size_t at = i * h.gso_size;
        const std::size_t len = std::min<std::size_t>(h.gso_size, payload - at);
        std::vector<std::byte> f(hdr + len);
        copy_bytes(f, 0, frame.first(hdr));
        copy_bytes(f, hdr, frame.subspan(hdr + at, len));
        const auto l4_len = static_cast<std::uint16_t>(hdr - l4 + len);
        if (v4) {
            store_be16(f, eth + 2, static_cast<std::uint16_t>(f.size() - eth));
            store_be16(f, eth + 4, static_cast<std::uint16_t>(id0 + i));  // not DF-fixed-id: counts up
            store_be16(f, eth + 10, 0);
            store_be16(f, eth + 10, wire::internet_checksum(bytes{f}.subspan(eth, l4 - eth)));
        } else {
            store_be16(f, eth + 4, l4_len);
        }
        store_be32(f, l4 + 4, static_cast<std::uint32_t>(seq0 + at));
        std::uint8_t fl = flags0;
        if (i + 1 < pieces) fl &= static_cast<std::uint8_t>(~0x09u);  // FIN, PSH: the last piece only
        if (i > 0) fl &= static_cast<std::uint8_t>(~0x80u);  // CWR: the first only
        store_u8(f, l4 + 13, fl);
        // The seed is the pseudo-header sum for the whole TCP length: take that length out and
        // put this piece's in, then complete the piece's checksum over its bytes.
        const std::uint16_t piece_seed = ones_add(ones_add(seed, static_cast<std::uint16_t>(~l4_len0)), l4_len);
        store_be16(f, l4 + 16, piece_seed);
        complete(f, l4, l4 + 16);
        out.push_back(std::move(f));
    }
    return out;
}

void reference_wire::send_offloaded(bytes f, instant, const link::tx_offload& offload) {
    const link::vnet_header h = offload.to_vnet_header();
    if (h.gso_type != 0) ++gso_frames;
    if (h.flags & link::vnet_header::flag_needs_csum) ++partial_frames;
    std::string error;
    auto pieces = reference_wire_frames(f, h, error);
    if (pieces.empty()) errors.push_back(error);
    for (auto& p : pieces) frames.push_back(std::move(p));
}

}  // namespace tapstack::testing
