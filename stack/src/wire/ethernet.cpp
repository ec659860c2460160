#include <tapstack/wire/ethernet.hpp>

namespace tapstack::wire {
namespace {
link::mac_address load_mac(bytes b, std::size_t off) noexcept {
    link::mac_address m;
    for (std::size_t i = 0; i < m.bytes.size(); ++i) m.bytes[i] = load_u8(b, off + i);
    return m;
}
void store_mac(mutable_bytes b, std::size_t off, const link::mac_address& m) noexcept {
    for (std::size_t i = 0; i < m.bytes.size(); ++i) store_u8(b, off + i, m.bytes[i]);
}
}  // namespace

parse_result<ethernet_view> ethernet_view::parse(bytes frame) noexcept {
    if (frame.size() < ethernet_header_size) return parse_error::truncated;
    return ethernet_view{frame};
}

link::mac_address ethernet_view::destination() const noexcept { return load_mac(bytes_, 0); }
link::mac_address ethernet_view::source() const noexcept { return load_mac(bytes_, 6); }

void ethernet_header::encode(mutable_bytes out) const noexcept {
    assert(out.size() >= ethernet_header_size);
    store_mac(out, 0, destination);
    store_mac(out, 6, source);
    store_be16(out, 12, type);
}

}  // namespace tapstack::wire
