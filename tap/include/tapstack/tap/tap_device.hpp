#pragma once
// A Linux TAP device: Ethernet frames in and out of the kernel through /dev/net/tun.
#include <string>
#include <string_view>
#include <tapstack/ip/address.hpp>

namespace tapstack::tap {

/// Owns the file descriptor of one TAP queue, opened IFF_TAP | IFF_NO_PI (no packet-info
/// header: each read() is exactly one Ethernet frame) and non-blocking.
/// Errors throw std::system_error with a message that says what to do about them (missing
/// /dev/net/tun, missing CAP_NET_ADMIN, a name in use by a non-TAP device).
class tap_device {
public:
    /// Attaches to the TAP `name`, creating it if missing (a non-persistent TAP created here
    /// disappears when the fd closes). An empty name lets the kernel choose ("tap%d").
    explicit tap_device(std::string_view name);
    /// Wraps an fd that already carries one Ethernet frame per read()/write() (a TAP fd passed
    /// by a parent process, or one end of a SOCK_DGRAM socketpair in tests); makes it
    /// non-blocking and owns it. No ioctl is made: configure_host() needs a real TAP name.
    static tap_device adopt(int fd, std::string name);
    tap_device(tap_device&& other) noexcept;
    tap_device& operator=(tap_device&& other) noexcept;
    tap_device(const tap_device&) = delete;
    tap_device& operator=(const tap_device&) = delete;
    ~tap_device();

    int native_handle() const noexcept { return fd_; }
    /// Gives the fd away (e.g. to a boost::asio::posix::stream_descriptor); the device no
    /// longer closes it.
    int release() noexcept;
    /// The name the kernel gave the interface.
    const std::string& name() const noexcept { return name_; }

    /// Kernel side: assigns `host` (address and netmask) to the interface with SIOCSIFADDR and
    /// SIOCSIFNETMASK on an AF_INET socket, then brings it up. Needs CAP_NET_ADMIN.
    void configure_host(const ip::interface_address& host) const;
    /// Sets IFF_UP (and IFF_RUNNING is then reported by the kernel while the fd is open).
    void set_up() const;
    /// The kernel-side MTU (SIOCGIFMTU).
    int mtu() const;

private:
    tap_device() = default;
    int fd_ = -1;
    std::string name_;
};

}  // namespace tapstack::tap
