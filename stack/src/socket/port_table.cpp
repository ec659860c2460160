#include "port_table.hpp"
#include <tapstack/tcp/connection.hpp>

namespace tapstack {
namespace {
bool overlaps(const ip::address& a, const ip::address& b) noexcept {
    return a.is_unspecified() || b.is_unspecified() || a == b;
}
}  // namespace

port_table::port_table() : by_port_(65536) {}

errc port_table::check(const ip::address& address, ip::port_number port, bool reuse_address) const {
    for (const auto& b : by_port_[port]) {
        if (!overlaps(address, b.address)) continue;
        if (reuse_address && b.conn && b.conn->current_state() == tcp::state::time_wait) continue;
        if (reuse_address && b.reuse_address && !b.listening) continue;
        return errc::address_in_use;
    }
    return errc::success;
}

void port_table::add(port_binding& b) { by_port_[b.port].push_back(b); }

void port_table::remove(port_binding& b) {
    if (b.linked()) by_port_[b.port].erase(by_port_[b.port].iterator_to(b));
}

bool port_table::has_non_connection(const ip::address& address, ip::port_number port) const {
    for (const auto& b : by_port_[port])
        if (!b.conn && overlaps(address, b.address)) return true;
    return false;
}

}  // namespace tapstack
