// The UDP half of the services: one socket per service, read as the stack reports readiness.
#include <tapstack/services/service.hpp>

#include <stdexcept>
#include <tapstack/errc.hpp>

namespace tapstack::services {

udp_service::udp_service(const service_host& host, std::uint16_t port, std::string name)
    : host_{host}, port_{port}, name_{std::move(name)}, buffer_(65536) {
    auto& st = host_.context.stack();
    auto h = st.udp_open();
    if (!h) throw std::runtime_error{name_ + ": cannot open a UDP socket: " + std::string{to_string(h.error())}};
    socket_ = *h;
    if (auto e = st.udp_bind(socket_, ip::endpoint{host_.bind_address, port_}); e != errc::success) {
        st.udp_close(socket_);
        throw std::runtime_error{name_ + ": cannot bind UDP port " + std::to_string(port_) + ": " +
                                 std::string{to_string(e)}};
    }
    st.set_waiter(socket_, this);
}

udp_service::~udp_service() {
    auto& st = host_.context.stack();
    st.set_waiter(socket_, nullptr);
    st.udp_close(socket_);
}

std::string udp_service::describe() const { return name_ + " udp/" + std::to_string(port_); }

void udp_service::on_socket_event(socket_handle, std::uint8_t events) {
    if ((events & socket_event::readable) != 0) drain();
}

void udp_service::drain() {
    auto& st = host_.context.stack();
    // Bounded: a flood must not starve the rest of the loop; the stack tells us again when
    // more arrives, and anything left is read at the next event.
    for (int i = 0; i < 256; ++i) {
        auto r = st.udp_receive_from(socket_, buffer_);
        if (!r) break;  // would_block: queue empty
        on_datagram(bytes{buffer_.data(), r->size}, r->from);
    }
}

void udp_service::send_to(bytes payload, const ip::endpoint& to) {
    auto& ctx = host_.context;
    // A failure (no ARP answer yet is queued, not a failure) is dropped like any lost datagram.
    (void)ctx.stack().udp_send_to(socket_, payload, to, ctx.now());
    ctx.kick();  // the send may have started ARP resolution: re-arm the timer
}

}  // namespace tapstack::services
