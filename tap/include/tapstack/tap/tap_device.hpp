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
    /// The same, and with `offload` also IFF_VNET_HDR (every read and write starts with a
    /// 10-byte struct virtio_net_hdr: TUNSETVNETHDRSZ is set to 10, the legacy size, since we
    /// never use num_buffers) and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6): the
    /// kernel hands over 64 KiB TCP super-frames with partial checksums and takes ours
    /// (link/offload.hpp). A kernel that refuses any of it gets a plain TAP instead: offload()
    /// is then false and offload_note() says why in one line.
    tap_device(std::string_view name, bool offload);
    /// Wraps an fd that already carries one Ethernet frame per read()/write() (a TAP fd passed
    /// by a parent process, or one end of a SOCK_DGRAM socketpair in tests); makes it
    /// non-blocking and owns it. No ioctl is made: configure_host() needs a real TAP name.
    static tap_device adopt(int fd, std::string name);
    /// The same for an fd whose every datagram starts with a virtio_net_hdr (a TAP a parent
    /// opened with offload, or a socketpair in tests): vnet_header() and offload() are true.
    static tap_device adopt(int fd, std::string name, bool vnet_header);
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

    /// Reads and writes carry a virtio_net_hdr (link::vnet_header) before the frame.
    bool vnet_header() const noexcept { return vnet_header_; }
    /// Checksum and TCP segmentation offload are on (implies vnet_header()).
    bool offload() const noexcept { return offload_; }
    /// Why offload was asked for and is off ("" otherwise).
    const std::string& offload_note() const noexcept { return offload_note_; }

private:
    tap_device() = default;
    void open_tap(std::string_view name, bool vnet);
    int fd_ = -1;
    std::string name_;
    bool vnet_header_ = false;
    bool offload_ = false;
    std::string offload_note_;
};

}  // namespace tapstack::tap
