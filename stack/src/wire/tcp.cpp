// TCP headers and options (RFC 9293 §3.1; options per RFC 6691, RFC 7323, RFC 2018).
#include <tapstack/wire/tcp.hpp>

#include <algorithm>
#include <cstring>
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/ipv4.hpp>

namespace tapstack::wire {
namespace {
namespace off {
constexpr std::size_t source_port = 0, destination_port = 2, seq = 4, ack = 8, data_offset = 12, flags = 13,
                      window = 14, checksum = 16, urgent_pointer = 18;
}
namespace flag_bit {
constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10, urg = 0x20, ece = 0x40, cwr = 0x80;
}
// Option lengths on the wire (kind and length bytes included).
constexpr std::size_t mss_length = 4, window_scale_length = 3, sack_permitted_length = 2, timestamps_length = 10,
                      sack_block_length = 8, max_sack_blocks = 4;

// Sizes of the Linux layout (tcp_options_write in net/ipv4/tcp_output.c): every option group is
// padded with leading NOPs to a 4-byte boundary, and SACK-permitted shares a word with the
// timestamps when both are present.
struct option_layout {
    std::size_t without_sack = 0;  // everything but the SACK blocks
    std::size_t sack_blocks = 0;  // blocks that fit within the 40-byte option space
    std::size_t total() const noexcept {
        return without_sack + (sack_blocks ? 4 + sack_block_length * sack_blocks : 0);
    }
};

option_layout layout_of(const tcp_options& o) noexcept {
    option_layout l;
    if (o.mss) l.without_sack += 4;
    if (o.timestamps) l.without_sack += 12;  // SACKOK TS, or NOP NOP TS
    if (o.window_scale) l.without_sack += 4;  // NOP WS
    if (o.sack_permitted && !o.timestamps) l.without_sack += 4;  // NOP NOP SACKOK
    if (o.sack_count > 0 && l.without_sack + 4 + sack_block_length <= tcp_max_options_size) {
        // Like Linux, send only the blocks that fit (3 next to timestamps, 4 without).
        const std::size_t fit = (tcp_max_options_size - l.without_sack - 4) / sack_block_length;
        l.sack_blocks = std::min<std::size_t>({fit, o.sack_count, max_sack_blocks});
    }
    return l;
}

}  // namespace

std::uint8_t tcp_flags::to_byte() const noexcept {
    std::uint8_t b = 0;
    if (fin) b |= flag_bit::fin;
    if (syn) b |= flag_bit::syn;
    if (rst) b |= flag_bit::rst;
    if (psh) b |= flag_bit::psh;
    if (ack) b |= flag_bit::ack;
    if (urg) b |= flag_bit::urg;
    if (ece) b |= flag_bit::ece;
    if (cwr) b |= flag_bit::cwr;
    return b;
}

tcp_flags tcp_flags::from_byte(std::uint8_t b) noexcept {
    tcp_flags f;
    f.fin = (b & flag_bit::fin) != 0;
    f.syn = (b & flag_bit::syn) != 0;
    f.rst = (b & flag_bit::rst) != 0;
    f.psh = (b & flag_bit::psh) != 0;
    f.ack = (b & flag_bit::ack) != 0;
    f.urg = (b & flag_bit::urg) != 0;
    f.ece = (b & flag_bit::ece) != 0;
    f.cwr = (b & flag_bit::cwr) != 0;
    return f;
}

std::size_t tcp_options::encoded_size() const noexcept { return layout_of(*this).total(); }

parse_result<tcp_view> tcp_view::parse_unchecked(bytes segment) noexcept {
    if (segment.size() < tcp_min_header_size) return parse_error::truncated;
    const std::size_t header_length = std::size_t{load_u8(segment, off::data_offset)} / 16 * 4;
    if (header_length < tcp_min_header_size || header_length > segment.size()) return parse_error::bad_header_length;
    return tcp_view{segment};
}

parse_result<tcp_view> tcp_view::parse(bytes segment, const ip::address& src, const ip::address& dst) noexcept {
    auto v = parse_unchecked(segment);
    if (!v) return v;
    // RFC 9293 §3.1: the checksum covers a pseudo-header, the header and the data.
    checksum_accumulator acc;
    add_pseudo_header(acc, src, dst, static_cast<std::uint8_t>(ip_protocol::tcp),
                      static_cast<std::uint32_t>(segment.size()));
    acc.add(segment);
    if (acc.folded() != 0xffff) return parse_error::bad_checksum;
    return v;
}

parse_result<tcp_options> decode_tcp_options(bytes o) noexcept {
    tcp_options out;
    std::size_t i = 0;
    while (i < o.size()) {
        const std::uint8_t kind = load_u8(o, i);
        if (kind == tcp_option_kind::end) break;  // RFC 9293 §3.1: the rest is padding
        if (kind == tcp_option_kind::nop) {
            ++i;
            continue;
        }
        // Every other kind has a length byte counting kind and length: it must exist, be at
        // least 2 (or we would loop forever) and stay inside the options area.
        if (i + 1 >= o.size()) return parse_error::bad_option;
        const std::size_t len = load_u8(o, i + 1);
        if (len < 2 || len > o.size() - i) return parse_error::bad_option;
        switch (kind) {
        case tcp_option_kind::mss:
            if (len != mss_length) return parse_error::bad_option;
            out.mss = load_be16(o, i + 2);
            break;
        case tcp_option_kind::window_scale:
            // The raw shift; RFC 7323 §2.3 clamping to 14 is the connection's business.
            if (len != window_scale_length) return parse_error::bad_option;
            out.window_scale = load_u8(o, i + 2);
            break;
        case tcp_option_kind::sack_permitted:
            if (len != sack_permitted_length) return parse_error::bad_option;
            out.sack_permitted = true;
            break;
        case tcp_option_kind::sack: {
            // RFC 2018 §3: length 2 + 8n; at most 4 blocks fit in 40 bytes of options.
            const std::size_t n = (len - 2) / sack_block_length;
            if ((len - 2) % sack_block_length != 0 || n < 1 || n > max_sack_blocks) return parse_error::bad_option;
            out.sack = {};  // a later SACK option replaces an earlier one, as in Linux
            out.sack_count = static_cast<std::uint8_t>(n);
            for (std::size_t b = 0; b < n; ++b) {
                const std::size_t at = i + 2 + b * sack_block_length;
                out.sack[b] = sack_block{seq_number{load_be32(o, at)}, seq_number{load_be32(o, at + 4)}};
            }
            break;
        }
        case tcp_option_kind::timestamps:
            if (len != timestamps_length) return parse_error::bad_option;
            out.timestamps = tcp_timestamps{load_be32(o, i + 2), load_be32(o, i + 6)};
            break;
        default: break;  // unknown: skipped by its declared length
        }
        i += len;
    }
    return out;
}

parse_result<tcp_segment> tcp_view::decode() const noexcept {
    auto opts = decode_tcp_options(options());
    if (!opts) return opts.error();
    tcp_segment s;
    s.source_port = source_port();
    s.destination_port = destination_port();
    s.seq = seq();
    s.ack = ack();
    s.flags = flags();
    s.window = window();
    s.urgent_pointer = urgent_pointer();
    s.options = *opts;
    s.payload = payload();
    return s;
}

namespace {
std::size_t write_options(const tcp_options& o, mutable_bytes out, std::size_t at) noexcept {
    const auto nop = [&] { store_u8(out, at++, tcp_option_kind::nop); };
    if (o.mss) {
        store_u8(out, at, tcp_option_kind::mss);
        store_u8(out, at + 1, mss_length);
        store_be16(out, at + 2, *o.mss);
        at += 4;
    }
    if (o.timestamps) {
        if (o.sack_permitted) {
            store_u8(out, at, tcp_option_kind::sack_permitted);
            store_u8(out, at + 1, sack_permitted_length);
            at += 2;
        } else {
            nop();
            nop();
        }
        store_u8(out, at, tcp_option_kind::timestamps);
        store_u8(out, at + 1, timestamps_length);
        store_be32(out, at + 2, o.timestamps->value);
        store_be32(out, at + 6, o.timestamps->echo);
        at += timestamps_length;
    }
    if (o.window_scale) {
        nop();
        store_u8(out, at, tcp_option_kind::window_scale);
        store_u8(out, at + 1, window_scale_length);
        store_u8(out, at + 2, *o.window_scale);
        at += window_scale_length;
    }
    if (o.sack_permitted && !o.timestamps) {
        nop();
        nop();
        store_u8(out, at, tcp_option_kind::sack_permitted);
        store_u8(out, at + 1, sack_permitted_length);
        at += 2;
    }
    const std::size_t blocks = layout_of(o).sack_blocks;
    if (blocks > 0) {
        nop();
        nop();
        store_u8(out, at, tcp_option_kind::sack);
        store_u8(out, at + 1, static_cast<std::uint8_t>(2 + sack_block_length * blocks));
        at += 2;
        for (std::size_t b = 0; b < blocks; ++b) {
            store_be32(out, at, o.sack[b].left.value());
            store_be32(out, at + 4, o.sack[b].right.value());
            at += sack_block_length;
        }
    }
    return at;
}
}  // namespace

void encode_tcp(const tcp_segment& seg, mutable_bytes out, const ip::address& src, const ip::address& dst,
                bool partial_checksum) noexcept {
    const std::size_t header_size = seg.header_size();
    const std::size_t total = header_size + seg.payload.size();
    assert(out.size() >= total);
    assert(header_size <= tcp_min_header_size + tcp_max_options_size && header_size % 4 == 0);
    store_be16(out, off::source_port, seg.source_port);
    store_be16(out, off::destination_port, seg.destination_port);
    store_be32(out, off::seq, seg.seq.value());
    store_be32(out, off::ack, seg.ack.value());
    store_u8(out, off::data_offset, static_cast<std::uint8_t>((header_size / 4) << 4));
    store_u8(out, off::flags, seg.flags.to_byte());
    store_be16(out, off::window, seg.window);
    store_be16(out, off::checksum, 0);
    store_be16(out, off::urgent_pointer, seg.urgent_pointer);
    [[maybe_unused]] const std::size_t end = write_options(seg.options, out, tcp_min_header_size);
    assert(end == header_size);
    // The payload may already be in place (the sender wrote it there): then there is nothing to move.
    if (!seg.payload.empty() && seg.payload.data() != out.data() + header_size)
        std::memmove(out.data() + header_size, seg.payload.data(), seg.payload.size());
    checksum_accumulator acc;
    add_pseudo_header(acc, src, dst, static_cast<std::uint8_t>(ip_protocol::tcp), static_cast<std::uint32_t>(total));
    if (partial_checksum || (seg.gso_size != 0 && seg.payload.size() > seg.gso_size)) {
        // TSO or checksum offload (link/offload.hpp): the link completes the checksum of each piece from this
        // partial one, the folded pseudo-header sum, not complemented (Linux's tcp_v4_send_check).
        store_be16(out, off::checksum, acc.folded());
        return;
    }
    acc.add(bytes{out.first(total)});
    store_be16(out, off::checksum, acc.finish());
}

}  // namespace tapstack::wire
