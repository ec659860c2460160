#pragma once
// The services a replayed stack runs (private to the replay engine): echo, discard, chargen
// and http-hello, written directly on the core socket API. Readiness events only mark a socket
// dirty (the core does not expect to be re-entered from a waiter); run() then serves them.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <tapstack/stack.hpp>
#include <tapstack/replay/replay.hpp>

namespace tapstack::tap::detail {

class replay_services final : public socket_waiter {
public:
    replay_services(tapstack::stack& s, replay_app app, std::optional<duration> idle_close);
    ~replay_services();
    replay_services(const replay_services&) = delete;
    replay_services& operator=(const replay_services&) = delete;

    /// Listens on the TCP ports and binds the UDP ports (nothing for replay_app::none).
    void open(const std::set<std::uint16_t>& tcp_ports, const std::set<std::uint16_t>& udp_ports,
              bool dual_stack = false);
    /// Serves every socket that reported an event since the last call.
    void run(instant now);
    bool pending() const noexcept { return !dirty_.empty(); }
    /// The earliest idle-close deadline, if any.
    std::optional<instant> deadline() const;
    void on_timer(instant now);

    void on_socket_event(socket_handle h, std::uint8_t events) override;

private:
    struct connection {
        socket_handle handle;
        std::string pending;  // bytes accepted from the app, not yet taken by tcp_send
        std::string request;  // http-hello: the request so far
        bool eof = false;
        bool close_when_flushed = false;
        std::size_t chargen_line = 0;
        instant last_activity{};
    };
    void serve_listener(socket_handle l, instant now);
    void serve_udp(socket_handle u, instant now);
    /// Returns false when the connection was closed (and erased).
    bool serve(connection& c, instant now);
    void close(connection& c, instant now);

    tapstack::stack* stack_;
    replay_app app_;
    std::optional<duration> idle_close_;
    std::vector<socket_handle> listeners_;
    std::vector<socket_handle> udp_;
    std::map<std::uint32_t, connection> connections_;  // by slot
    std::vector<socket_handle> dirty_;
    std::vector<socket_handle> work_;
    std::vector<std::byte> buffer_;
};

}  // namespace tapstack::tap::detail
