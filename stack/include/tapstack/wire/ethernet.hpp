#pragma once
#include <cstdint>
#include <boost/system/result.hpp>
#include <tapstack/base/bytes.hpp>
#include <tapstack/wire/mac.hpp>
#include <tapstack/wire/parse_error.hpp>

namespace tapstack::wire {

template <class T>
using parse_result = boost::system::result<T, parse_error>;

enum class ether_type : std::uint16_t { ipv4 = 0x0800, arp = 0x0806, ipv6 = 0x86dd, vlan = 0x8100 };

constexpr std::size_t ethernet_header_size = 14;

class ethernet_view {
public:
    /// Needs at least 14 bytes; the FCS is never present on a TAP device.
    static parse_result<ethernet_view> parse(bytes frame) noexcept;
    link::mac_address destination() const noexcept;
    link::mac_address source() const noexcept;
    std::uint16_t type() const noexcept { return load_be16(bytes_, 12); }
    bytes payload() const noexcept { return bytes_.subspan(ethernet_header_size); }

private:
    explicit ethernet_view(bytes b) noexcept : bytes_{b} {}
    bytes bytes_;
};

struct ethernet_header {
    link::mac_address destination;
    link::mac_address source;
    std::uint16_t type = 0;
    /// Writes exactly 14 bytes at the start of `out`.
    void encode(mutable_bytes out) const noexcept;
};

}  // namespace tapstack::wire
