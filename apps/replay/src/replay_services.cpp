#include "replay_services.hpp"

#include <stdexcept>

namespace tapstack::tap::detail {

replay_services::replay_services(tapstack::stack& s, replay_app app, std::optional<duration> idle_close)
    : stack_{&s}, app_{app}, idle_close_{idle_close} {}

replay_services::~replay_services() {
    // As echo-server does at exit: the sessions see their operation_aborted and end while the
    // stack still lives.
    for (auto& s : services_) s->stop();
    io_.restart();
    io_.poll();
    services_.clear();
}

void replay_services::open(const std::set<std::uint16_t>& tcp_ports, const std::set<std::uint16_t>& udp_ports,
                           bool dual_stack) {
    if (app_ == replay_app::none) return;
    // The IPv6 wildcard takes IPv4 too (V6ONLY off, Linux's default).
    const services::service_host host{
        *this, io_.get_executor(), dual_stack ? ip::address{ip::address_v6::any()} : ip::address{ip::address_v4::any()},
        nullptr, "replay"};
    using factory = std::unique_ptr<services::service> (*)(const services::service_host&, std::uint16_t);
    factory tcp = nullptr, udp = nullptr;
    switch (app_) {
    case replay_app::echo: tcp = services::make_tcp_echo, udp = services::make_udp_echo; break;
    case replay_app::discard: tcp = services::make_tcp_discard, udp = services::make_udp_discard; break;
    case replay_app::chargen: tcp = services::make_tcp_chargen, udp = services::make_udp_chargen; break;
    case replay_app::http_hello: tcp = services::make_http_hello; break;
    case replay_app::none: break;
    }
    try {
        for (auto port : tcp_ports) services_.push_back(tcp(host, port));
        if (udp != nullptr)
            for (auto port : udp_ports) services_.push_back(udp(host, port));
    } catch (const std::runtime_error& e) { throw replay_error{std::string{"replay: "} + e.what()}; }
}

std::size_t replay_services::run(instant now) {
    now_ = now;
    io_.restart();
    return io_.poll();
}

std::optional<instant> replay_services::deadline() const {
    if (!idle_close_) return std::nullopt;
    std::optional<instant> d;
    for (const auto& s : services_)
        if (auto t = s->idle_deadline(*idle_close_); t && (!d || *t < *d)) d = t;
    return d;
}

void replay_services::on_timer(instant now) {
    if (!idle_close_) return;
    now_ = now;
    for (auto& s : services_) s->close_idle(now, *idle_close_);
}

}  // namespace tapstack::tap::detail
