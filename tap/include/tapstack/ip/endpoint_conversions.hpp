#pragma once
// Conversions between the core's family-neutral address/endpoint and Boost.Asio's.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/basic_endpoint.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <tapstack/ip/address.hpp>

namespace tapstack::ip {

inline boost::asio::ip::address to_asio(const address& a) {
    if (a.is_v4()) return boost::asio::ip::address_v4{a.to_v4().to_uint()};
    return boost::asio::ip::address_v6{a.to_v6().to_bytes()};
}

inline address from_asio(const boost::asio::ip::address& a) {
    if (a.is_v4()) return address_v4{a.to_v4().to_uint()};
    return address_v6{a.to_v6().to_bytes()};
}

inline boost::asio::ip::tcp::endpoint to_asio_tcp(const endpoint& e) { return {to_asio(e.address), e.port}; }
inline boost::asio::ip::udp::endpoint to_asio_udp(const endpoint& e) { return {to_asio(e.address), e.port}; }

/// From boost::asio::ip::tcp::endpoint or boost::asio::ip::udp::endpoint.
template <class InternetProtocol>
endpoint from_asio(const boost::asio::ip::basic_endpoint<InternetProtocol>& e) {
    return endpoint{from_asio(e.address()), e.port()};
}

}  // namespace tapstack::ip
