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

    /// An integer socket option: `sock.set_option(tapstack::socket_base::send_buffer_size{65536})`.
    template <int Name>
    class integer_option {
    public:
        constexpr integer_option() noexcept = default;
        constexpr explicit integer_option(int v) noexcept : value_{v} {}
        constexpr integer_option& operator=(int v) noexcept {
            value_ = v;
            return *this;
        }
        constexpr int value() const noexcept { return value_; }

    private:
        int value_ = 0;
    };

    /// SO_KEEPALIVE: keepalive probes on an idle connection (RFC 1122 4.2.3.6).
    using keep_alive = boolean_option<1>;
    /// SO_REUSEADDR: bind a port that a lingering connection (TIME-WAIT) still holds.
    using reuse_address = boolean_option<2>;
    /// SO_SNDBUF / SO_RCVBUF, bytes: setting one fixes that socket's buffer at that size and
    /// turns off its autotuning in that direction (as on Linux); read back, the size in force
    /// (the stack's per-connection maximum, tcp.send_buffer_size / receive_buffer_size, when
    /// none was set). Set before connect or listen for the receive size to choose the window
    /// scale; accepted sockets inherit their listener's.
    using send_buffer_size = integer_option<4>;
    using receive_buffer_size = integer_option<5>;

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
