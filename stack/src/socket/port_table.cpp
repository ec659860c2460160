#include "port_table.hpp"
#include <tapstack/tcp/connection.hpp>

namespace tapstack {
namespace {
bool overlaps(const ip::address& a, const ip::address& b) noexcept {
    return a.is_unspecified() || b.is_unspecified() || a == b;
}
}  // namespace

port_table::port_table() = default;

port_table::list& port_table::slot(ip::port_number port) {
    auto& p = pages_[port / page_size];
    if (!p) p = std::make_unique<page>();
    return (*p)[port % page_size];
}

errc port_table::check(const ip::address& address, ip::port_number port, bool reuse_address) const {
    for (const auto& b : at(port)) {
        if (!overlaps(address, b.address)) continue;
        if (reuse_address && b.conn && b.conn->current_state() == tcp::state::time_wait) continue;
        if (reuse_address && b.reuse_address && !b.listening) continue;
        return errc::address_in_use;
    }
    return errc::success;
}

void port_table::add(port_binding& b) { slot(b.port).push_back(b); }

void port_table::remove(port_binding& b) {
    if (!b.linked()) return;
    auto& l = slot(b.port);
    l.erase(l.iterator_to(b));
}

bool port_table::has_non_connection(const ip::address& address, ip::port_number port) const {
    for (const auto& b : at(port))
        if (!b.conn && overlaps(address, b.address)) return true;
    return false;
}

}  // namespace tapstack
