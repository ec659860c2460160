#pragma once
// Socket options and shutdown kinds, named as boost::asio::socket_base names them.
namespace tapstack {

class socket_base {
public:
    /// A boolean socket option: `sock.set_option(tapstack::socket_base::keep_alive{true})`.
    template <int Name>
    class boolean_option {
    public:
        constexpr boolean_option() noexcept = default;
        constexpr explicit boolean_option(bool v) noexcept : value_{v} {}
        constexpr boolean_option& operator=(bool v) noexcept {
            value_ = v;
            return *this;
        }
        constexpr bool value() const noexcept { return value_; }
        constexpr explicit operator bool() const noexcept { return value_; }
        constexpr bool operator!() const noexcept { return !value_; }

    private:
        bool value_ = false;
    };

    /// SO_KEEPALIVE: keepalive probes on an idle connection (RFC 1122 4.2.3.6).
    using keep_alive = boolean_option<1>;
    /// SO_REUSEADDR: bind a port that a lingering connection (TIME-WAIT) still holds.
    using reuse_address = boolean_option<2>;

    enum shutdown_type { shutdown_receive, shutdown_send, shutdown_both };

    static constexpr int max_listen_connections = 4096;

protected:
    ~socket_base() = default;
};

namespace ip::detail {
/// TCP_NODELAY (tapstack::ip::tcp::no_delay): disables Nagle's algorithm (RFC 896).
using no_delay_option = socket_base::boolean_option<3>;
}  // namespace ip::detail

}  // namespace tapstack
