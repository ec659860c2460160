#include "service.hpp"

#include <stdexcept>
#include <tapstack/errc.hpp>

namespace echo_server {

using namespace tapstack;

udp_service::udp_service(app::app_context& ctx, std::uint16_t port, std::string name)
    : ctx_{ctx}, port_{port}, name_{std::move(name)}, buffer_(65536) {
    auto& st = ctx_.stack();
    auto h = st.udp_open();
    if (!h) throw std::runtime_error{name_ + ": cannot open a UDP socket: " + std::string{to_string(h.error())}};
    socket_ = *h;
    if (auto e = st.udp_bind(socket_, ip::endpoint{app::wildcard_address(ctx_.options()), port_}); e != errc::success) {
        st.udp_close(socket_);
        throw std::runtime_error{name_ + ": cannot bind UDP port " + std::to_string(port_) + ": " +
                                 std::string{to_string(e)}};
    }
    st.set_waiter(socket_, this);
}

udp_service::~udp_service() {
    auto& st = ctx_.stack();
    st.set_waiter(socket_, nullptr);
    st.udp_close(socket_);
}

std::string udp_service::describe() const { return name_ + " udp/" + std::to_string(port_); }

void udp_service::on_socket_event(socket_handle, std::uint8_t events) {
    if ((events & socket_event::readable) != 0) drain();
}

void udp_service::drain() {
    auto& st = ctx_.stack();
    // Bounded: a flood must not starve the rest of the loop; the stack tells us again when
    // more arrives, and anything left is read at the next event.
    for (int i = 0; i < 256; ++i) {
        auto r = st.udp_receive_from(socket_, buffer_);
        if (!r) break;  // would_block: queue empty
        on_datagram(bytes{buffer_.data(), r->size}, r->from);
    }
}

void udp_service::send_to(bytes payload, const ip::endpoint& to) {
    auto& rt = ctx_.runtime();
    // A failure (no ARP answer yet is queued, not a failure) is dropped like any lost datagram.
    (void)rt.stack().udp_send_to(socket_, payload, to, rt.now());
    rt.kick();  // the send may have started ARP resolution: re-arm the timer
}

}  // namespace echo_server
