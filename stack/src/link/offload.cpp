// virtio-net header encoding, partial checksums and software segmentation (link/offload.hpp).
#include <tapstack/link/offload.hpp>

#include <algorithm>
#include <bit>
#include <vector>
#include <tapstack/link/frame_sink.hpp>
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/ipv6.hpp>
#include <tapstack/wire/tcp.hpp>

namespace tapstack::link {
namespace {

// The TAP's vnet header is in the host's byte order (legacy virtio, see vnet_header::parse).
std::uint16_t load_native16(bytes b, std::size_t off) noexcept {
    const auto lo = static_cast<std::uint16_t>(b[off]), hi = static_cast<std::uint16_t>(b[off + 1]);
    if constexpr (std::endian::native == std::endian::little)
        return static_cast<std::uint16_t>(lo | (hi << 8));
    else
        return static_cast<std::uint16_t>((lo << 8) | hi);
}
void store_native16(mutable_bytes b, std::size_t off, std::uint16_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        b[off] = std::byte(v & 0xff);
        b[off + 1] = std::byte(v >> 8);
    } else {
        store_be16(b, off, v);
    }
}

namespace tcp_off {
constexpr std::size_t seq = 4, data_offset = 12, flags = 13, checksum = 16;
constexpr std::uint8_t fin = 0x01, psh = 0x08, cwr = 0x80;
}  // namespace tcp_off

}  // namespace

std::optional<vnet_header> vnet_header::parse(bytes b) noexcept {
    if (b.size() < size) return std::nullopt;
    vnet_header h;
    h.flags = load_u8(b, 0);
    h.gso_type = load_u8(b, 1);
    h.hdr_len = load_native16(b, 2);
    h.gso_size = load_native16(b, 4);
    h.csum_start = load_native16(b, 6);
    h.csum_offset = load_native16(b, 8);
    return h;
}

void vnet_header::encode(mutable_bytes out) const noexcept {
    assert(out.size() >= size);
    store_u8(out, 0, flags);
    store_u8(out, 1, gso_type);
    store_native16(out, 2, hdr_len);
    store_native16(out, 4, gso_size);
    store_native16(out, 6, csum_start);
    store_native16(out, 8, csum_offset);
}

rx_offload rx_offload::from(const vnet_header& h) noexcept {
    rx_offload r;
    r.needs_csum = (h.flags & vnet_header::flag_needs_csum) != 0;
    r.data_valid = (h.flags & vnet_header::flag_data_valid) != 0;
    switch (h.gso_type & ~vnet_header::gso_ecn) {
    case 1: r.gso = gso_kind::tcpv4; break;
    case 3: r.gso = gso_kind::udp; break;
    case 4: r.gso = gso_kind::tcpv6; break;
    default: r.gso = gso_kind::none; break;
    }
    r.gso_size = r.gso == gso_kind::none ? 0 : h.gso_size;
    return r;
}

vnet_header tx_offload::to_vnet_header() const noexcept {
    vnet_header h;
    h.flags = needs_csum ? vnet_header::flag_needs_csum : 0;
    h.gso_type = static_cast<std::uint8_t>(gso);
    if (gso != gso_kind::none) {
        h.hdr_len = hdr_len;
        h.gso_size = gso_size;
    }
    if (needs_csum) {
        h.csum_start = csum_start;
        h.csum_offset = csum_offset;
    }
    return h;
}

bool complete_partial_checksum(mutable_bytes frame, std::uint16_t csum_start, std::uint16_t csum_offset) noexcept {
    if (std::size_t{csum_start} + csum_offset + 2 > frame.size()) return false;
    // The field holds the pseudo-header sum; summing it with the rest gives the whole sum.
    wire::checksum_accumulator acc;
    acc.add(bytes{frame.subspan(csum_start)});
    std::uint16_t c = acc.finish();
    // RFC 768: a computed UDP checksum of zero is sent as all ones (zero means "none").
    if (c == 0 && csum_offset == 6) c = 0xffff;
    store_be16(frame, std::size_t{csum_start} + csum_offset, c);
    return true;
}

std::size_t segment_in_software(bytes frame, const tx_offload& off, frame_sink& sink, instant now) {
    thread_local std::vector<std::byte> buffer;
    if (off.gso == gso_kind::none) {
        if (!off.needs_csum) {
            sink.send_frame(frame, now);
            return 1;
        }
        if (buffer.size() < frame.size()) buffer.resize(frame.size());
        const mutable_bytes copy{buffer.data(), frame.size()};
        copy_bytes(copy, 0, frame);
        if (!complete_partial_checksum(copy, off.csum_start, off.csum_offset)) return 0;
        sink.send_frame(copy, now);
        return 1;
    }
    if (off.gso != gso_kind::tcpv4 && off.gso != gso_kind::tcpv6) return 0;
    // Headers: Ethernet, then IPv4 (any IHL) or IPv6 (no extension headers: the stack adds none).
    constexpr std::size_t l3 = wire::ethernet_header_size;
    if (frame.size() < l3 + wire::ipv4_min_header_size || off.gso_size == 0) return 0;
    const bool v4 = off.gso == gso_kind::tcpv4;
    const std::size_t ip_hl = v4 ? std::size_t{load_u8(frame, l3) & 0x0fu} * 4 : wire::ipv6_header_size;
    const std::size_t l4 = l3 + ip_hl;
    if (ip_hl < wire::ipv4_min_header_size || frame.size() < l4 + wire::tcp_min_header_size) return 0;
    const std::size_t tcp_hl = static_cast<std::size_t>(load_u8(frame, l4 + tcp_off::data_offset) >> 4) * 4;
    const std::size_t hdr = l4 + tcp_hl;
    if (tcp_hl < wire::tcp_min_header_size || frame.size() < hdr) return 0;
    const std::size_t payload = frame.size() - hdr;
    const std::size_t mss = off.gso_size;
    const std::size_t pieces = payload == 0 ? 1 : (payload + mss - 1) / mss;
    if (buffer.size() < hdr + mss) buffer.resize(hdr + mss);
    const std::uint32_t seq0 = load_be32(frame, l4 + tcp_off::seq);
    const std::uint16_t id0 = v4 ? load_be16(frame, l3 + 4) : 0;
    const std::uint8_t flags0 = load_u8(frame, l4 + tcp_off::flags);
    const bytes src = v4 ? frame.subspan(l3 + 12, 4) : frame.subspan(l3 + 8, 16);
    const bytes dst = v4 ? frame.subspan(l3 + 16, 4) : frame.subspan(l3 + 24, 16);
    for (std::size_t i = 0; i < pieces; ++i) {
        const std::size_t at = i * mss;
        const std::size_t len = std::min(mss, payload - std::min(payload, at));
        const mutable_bytes out{buffer.data(), hdr + len};
        copy_bytes(out, 0, frame.first(hdr));
        copy_bytes(out, hdr, frame.subspan(hdr + at, len));
        if (v4) {
            store_be16(out, l3 + 2, static_cast<std::uint16_t>(ip_hl + tcp_hl + len));
            store_be16(out, l3 + 4, static_cast<std::uint16_t>(id0 + i));
            store_be16(out, l3 + 10, 0);
            store_be16(out, l3 + 10, wire::internet_checksum(bytes{out.subspan(l3, ip_hl)}));
        } else {
            store_be16(out, l3 + 4, static_cast<std::uint16_t>(tcp_hl + len));
        }
        store_be32(out, l4 + tcp_off::seq, static_cast<std::uint32_t>(seq0 + at));
        std::uint8_t fl = flags0;
        if (i + 1 < pieces) fl = static_cast<std::uint8_t>(fl & ~(tcp_off::fin | tcp_off::psh));
        if (i > 0) fl = static_cast<std::uint8_t>(fl & ~tcp_off::cwr);
        store_u8(out, l4 + tcp_off::flags, fl);
        store_be16(out, l4 + tcp_off::checksum, 0);
        wire::checksum_accumulator acc;  // RFC 9293 §3.1 pseudo-header (RFC 8200 §8.1 for IPv6)
        acc.add(src);
        acc.add(dst);
        acc.add_u32(static_cast<std::uint32_t>(tcp_hl + len));
        acc.add_u16(static_cast<std::uint16_t>(wire::ip_protocol::tcp));
        acc.add(bytes{out.subspan(l4)});
        store_be16(out, l4 + tcp_off::checksum, acc.finish());
        sink.send_frame(out, now);
    }
    return pieces;
}

void frame_sink::send_offloaded(bytes frame, instant now, const tx_offload& offload) {
    segment_in_software(frame, offload, *this, now);
}

}  // namespace tapstack::link
