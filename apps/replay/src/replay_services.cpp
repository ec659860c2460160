#include "replay_services.hpp"

#include <algorithm>

namespace tapstack::tap::detail {
namespace {

/// RFC 864: line n is 72 characters of the 95 printable ASCII characters starting at the n-th
/// one (rotating), followed by CR LF.
void append_chargen_line(std::string& out, std::size_t n) {
    for (std::size_t i = 0; i < 72; ++i) out += static_cast<char>(' ' + (n + i) % 95);
    out += "\r\n";
}

bool would_block(errc e) { return e == errc::would_block; }

}  // namespace

replay_services::replay_services(tapstack::stack& s, replay_app app, std::optional<duration> idle_close)
    : stack_{&s}, app_{app}, idle_close_{idle_close}, buffer_(64 * 1024) {}

replay_services::~replay_services() {
    for (auto& [slot, c] : connections_) stack_->set_waiter(c.handle, nullptr);
    for (auto h : listeners_) stack_->set_waiter(h, nullptr);
    for (auto h : udp_) stack_->set_waiter(h, nullptr);
}

void replay_services::open(const std::set<std::uint16_t>& tcp_ports, const std::set<std::uint16_t>& udp_ports,
                           bool dual_stack) {
    if (app_ == replay_app::none) return;
    // The IPv6 wildcard takes IPv4 too (V6ONLY off, Linux's default).
    const ip::address any = dual_stack ? ip::address{ip::address_v6::any()} : ip::address{ip::address_v4::any()};
    for (auto port : tcp_ports) {
        auto h = stack_->tcp_open();
        if (!h) throw replay_error{"replay: cannot open a TCP socket: " + std::string{to_string(h.error())}};
        if (auto e = stack_->tcp_bind(*h, ip::endpoint{any, port}); e != errc::success)
            throw replay_error{"replay: cannot bind TCP port " + std::to_string(port) + ": " +
                               std::string{to_string(e)}};
        if (auto e = stack_->tcp_listen(*h, 128); e != errc::success)
            throw replay_error{"replay: cannot listen on TCP port " + std::to_string(port) + ": " +
                               std::string{to_string(e)}};
        stack_->set_waiter(*h, this);
        listeners_.push_back(*h);
    }
    for (auto port : udp_ports) {
        auto h = stack_->udp_open();
        if (!h) throw replay_error{"replay: cannot open a UDP socket: " + std::string{to_string(h.error())}};
        if (auto e = stack_->udp_bind(*h, ip::endpoint{any, port}); e != errc::success)
            throw replay_error{"replay: cannot bind UDP port " + std::to_string(port) + ": " +
                               std::string{to_string(e)}};
        stack_->set_waiter(*h, this);
        udp_.push_back(*h);
    }
}

void replay_services::on_socket_event(socket_handle h, std::uint8_t /*events*/) {
    if (std::find(dirty_.begin(), dirty_.end(), h) == dirty_.end()) dirty_.push_back(h);
}

void replay_services::run(instant now) {
    while (!dirty_.empty()) {
        work_.swap(dirty_);
        dirty_.clear();
        for (auto h : work_) {
            if (std::find(listeners_.begin(), listeners_.end(), h) != listeners_.end()) {
                serve_listener(h, now);
            } else if (std::find(udp_.begin(), udp_.end(), h) != udp_.end()) {
                serve_udp(h, now);
            } else if (auto it = connections_.find(h.slot); it != connections_.end() && it->second.handle == h) {
                serve(it->second, now);
            }
        }
        work_.clear();
    }
}

void replay_services::serve_listener(socket_handle l, instant now) {
    for (;;) {
        auto c = stack_->tcp_accept(l, now);
        if (!c) return;
        connection conn;
        conn.handle = *c;
        conn.last_activity = now;
        auto [it, inserted] = connections_.insert_or_assign(c->slot, std::move(conn));
        stack_->set_waiter(*c, this);
        serve(it->second, now);
    }
}

void replay_services::serve_udp(socket_handle u, instant now) {
    for (;;) {
        auto d = stack_->udp_receive_from(u, mutable_bytes{buffer_});
        if (!d) return;
        const bytes got{buffer_.data(), d->size};
        switch (app_) {
        case replay_app::echo: (void)stack_->udp_send_to(u, got, d->from, now); break;
        case replay_app::chargen: {
            std::string line;
            append_chargen_line(line, 0);
            (void)stack_->udp_send_to(u, as_bytes_of(line), d->from, now);
            break;
        }
        case replay_app::http_hello:
            (void)stack_->udp_send_to(u, as_bytes_of(http_hello_response()), d->from, now);
            break;
        case replay_app::discard:
        case replay_app::none: break;
        }
    }
}

bool replay_services::serve(connection& c, instant now) {
    for (;;) {
        // Read everything that is there (the app never applies back-pressure, as socat with a
        // large buffer would not).
        bool progressed = false;
        while (!c.eof) {
            auto r = stack_->tcp_receive(c.handle, mutable_bytes{buffer_}, now);
            if (!r) {
                if (would_block(r.error())) break;
                close(c, now);  // reset or timed out
                return false;
            }
            if (*r == 0) {
                c.eof = true;
                break;
            }
            progressed = true;
            c.last_activity = now;
            const std::string_view data{reinterpret_cast<const char*>(buffer_.data()), *r};
            switch (app_) {
            case replay_app::echo: c.pending.append(data); break;
            case replay_app::http_hello:
                if (!c.close_when_flushed) {
                    c.request.append(data);
                    if (c.request.find("\r\n\r\n") != std::string::npos ||
                        c.request.find("\n\n") != std::string::npos) {
                        c.pending.append(http_hello_response());
                        c.close_when_flushed = true;
                    }
                }
                break;
            case replay_app::discard:
            case replay_app::chargen:
            case replay_app::none: break;
            }
        }
        if (app_ == replay_app::chargen && !c.eof)
            while (c.pending.size() < 16 * 74) append_chargen_line(c.pending, c.chargen_line++);
        while (!c.pending.empty()) {
            auto n = stack_->tcp_send(c.handle, as_bytes_of(c.pending), now);
            if (!n) {
                if (would_block(n.error())) break;
                close(c, now);
                return false;
            }
            if (*n == 0) break;
            c.pending.erase(0, *n);
            c.last_activity = now;
            progressed = true;
            if (app_ == replay_app::chargen && !c.eof)
                while (c.pending.size() < 16 * 74) append_chargen_line(c.pending, c.chargen_line++);
        }
        if ((c.eof || c.close_when_flushed) && (c.pending.empty() || app_ == replay_app::chargen)) {
            close(c, now);
            return false;
        }
        if (!progressed) return true;
    }
}

void replay_services::close(connection& c, instant now) {
    const auto h = c.handle;
    stack_->set_waiter(h, nullptr);
    stack_->tcp_close(h, now);
    connections_.erase(h.slot);
}

std::optional<instant> replay_services::deadline() const {
    if (!idle_close_) return std::nullopt;
    std::optional<instant> d;
    for (const auto& [slot, c] : connections_) {
        const instant t = c.last_activity + *idle_close_;
        if (!d || t < *d) d = t;
    }
    return d;
}

void replay_services::on_timer(instant now) {
    if (!idle_close_) return;
    std::vector<socket_handle> expired;
    for (const auto& [slot, c] : connections_)
        if (c.last_activity + *idle_close_ <= now) expired.push_back(c.handle);
    for (auto h : expired) {
        auto it = connections_.find(h.slot);
        if (it != connections_.end()) close(it->second, now);
    }
}

}  // namespace tapstack::tap::detail
