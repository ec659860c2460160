#pragma once
// Who holds which local port, per protocol, with the conflict rules operating systems follow.
#include <array>
#include <memory>
#include <boost/intrusive/list.hpp>
#include <tapstack/errc.hpp>
#include <tapstack/ip/address.hpp>

namespace tapstack {
namespace tcp {
class connection;
}

/// One socket's claim on a local (address, port). Embedded in the socket that owns it.
struct port_binding {
    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::safe_link>> hook;
    ip::address address;  // ours, or the unspecified address (wildcard)
    ip::port_number port = 0;
    bool reuse_address = false;
    bool listening = false;
    bool v6_only = false;  // IPV6_V6ONLY: an IPv6 wildcard that does not take IPv4
    const tcp::connection* conn = nullptr;  // set for connections (their state matters for reuse)
    std::uint32_t owner_slot = 0;  // the socket slot that holds this binding
    bool linked() const noexcept { return hook.is_linked(); }
};

class port_table {
public:
    port_table();
    /// address_in_use when (address, port) overlaps a binding that may not be shared: the same
    /// address, or either side the wildcard (Linux semantics). With reuse_address on the new
    /// socket, bindings in TIME-WAIT never conflict, and neither do bindings that also set it
    /// and are not listening (SO_REUSEADDR as Linux implements it).
    errc check(const ip::address& address, ip::port_number port, bool reuse_address) const;
    void add(port_binding& b);
    void remove(port_binding& b);
    bool empty(ip::port_number port) const { return at(port).empty(); }
    /// True when a binding other than a connection (a listener or a bound, unconnected socket)
    /// overlaps `address` on `port`: an ephemeral connect may not share that port.
    bool has_non_connection(const ip::address& address, ip::port_number port) const;
    /// Calls fn(binding&) for every binding on a port.
    template <class Fn>
    void for_each(ip::port_number port, Fn&& fn) const {
        for (const auto& b : at(port)) fn(b);
    }

private:
    using list = boost::intrusive::list<
        port_binding, boost::intrusive::member_hook<port_binding, decltype(port_binding::hook), &port_binding::hook>>;
    // 65536 list heads in 256 pages of 256, a page allocated when a port in it is first bound
    // (binding is socket set-up, never per packet): a stack with a few sockets costs ~8 KiB here,
    // not 1 MiB per table, which matters to tests and fuzzers that build a stack per case.
    static constexpr std::size_t page_size = 256;
    using page = std::array<list, page_size>;
    const list& at(ip::port_number port) const noexcept {
        const auto& p = pages_[port / page_size];
        return p ? (*p)[port % page_size] : empty_;
    }
    list& slot(ip::port_number port);
    std::array<std::unique_ptr<page>, 65536 / page_size> pages_;
    list empty_;
};

/// A binding on the wildcard of one family: which destinations it takes. An IPv6 wildcard
/// also takes IPv4 unless v6_only (Linux's bindv6only=0); an IPv4 wildcard never takes IPv6.
constexpr bool wildcard_takes(const ip::address& bound, bool v6_only, const ip::address& dst) noexcept {
    if (!bound.is_unspecified()) return bound == dst;
    if (bound.is_v6()) return dst.is_v6() || !v6_only;
    return dst.is_v4();
}

}  // namespace tapstack
