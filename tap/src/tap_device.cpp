#include <tapstack/tap/tap_device.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>
#include <tapstack/link/offload.hpp>

namespace tapstack::tap {
namespace {

[[noreturn]] void fail(int err, const std::string& what) {
    std::string hint;
    if (err == EPERM || err == EACCES)
        hint = " (needs CAP_NET_ADMIN: run as root, in a namespace you own, or `setcap cap_net_admin+ep` the binary)";
    throw std::system_error{err, std::generic_category(), what + hint};
}

/// An AF_INET datagram socket, only as a handle for the SIOC* interface ioctls.
class ioctl_socket {
public:
    ioctl_socket() : fd_{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)} {
        if (fd_ < 0) fail(errno, "socket(AF_INET) for interface configuration");
    }
    ~ioctl_socket() { ::close(fd_); }
    ioctl_socket(const ioctl_socket&) = delete;
    ioctl_socket& operator=(const ioctl_socket&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

ifreq request_for(const std::string& name) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return ifr;
}

void set_ipv4(ifreq& ifr, std::uint32_t host_order) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(host_order);
    std::memcpy(&ifr.ifr_addr, &sin, sizeof sin);
}

}  // namespace

void tap_device::open_tap(std::string_view name, bool vnet) {
    if (name.size() >= IFNAMSIZ)
        throw std::system_error{
            EINVAL, std::generic_category(),
            "TAP name '" + std::string{name} + "' is longer than " + std::to_string(IFNAMSIZ - 1) + " characters"};
    fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENXIO || err == ENODEV)
            throw std::system_error{err, std::generic_category(),
                                    "cannot open /dev/net/tun (load the tun module with `modprobe tun`; in a "
                                    "container, pass the device: --device /dev/net/tun)"};
        fail(err, "cannot open /dev/net/tun");
    }
    ifreq ifr{};
    ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    if (::ioctl(fd_, TUNSETIFF, &ifr) < 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        if (err == EBUSY)
            throw std::system_error{err, std::generic_category(),
                                    "TAP '" + std::string{name} + "' is busy (another process has it open)"};
        if (err == EINVAL)
            throw std::system_error{
                err, std::generic_category(),
                "cannot attach TAP '" + std::string{name} + "': the name is taken by a device that is not a TAP"};
        fail(err, "cannot create or attach TAP '" + std::string{name} + "' (TUNSETIFF)");
    }
    name_ = ifr.ifr_name;
    vnet_header_ = vnet;
    // A persistent TAP keeps the offload features an earlier process set (TUNSETOFFLOAD). Without
    // a vnet header we could not tell a partial checksum from a bad one, so clear them: the kernel
    // then completes checksums and cuts super-frames itself. (Refused on very old kernels: harmless.)
    if (!vnet) (void)::ioctl(fd_, TUNSETOFFLOAD, 0u);
}

tap_device::tap_device(std::string_view name) { open_tap(name, false); }

tap_device::tap_device(std::string_view name, bool offload) {
    if (!offload) {
        open_tap(name, false);
        return;
    }
    open_tap(name, true);
    // Legacy header size (10): no num_buffers field (that is for mergeable RX buffers).
    int header_size = static_cast<int>(link::vnet_header::size);
    const unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    const char* failed = nullptr;
    int err = 0;
    if (::ioctl(fd_, TUNSETVNETHDRSZ, &header_size) < 0) {
        err = errno;
        failed = "TUNSETVNETHDRSZ";
    } else if (::ioctl(fd_, TUNSETOFFLOAD, features) < 0) {
        err = errno;
        failed = "TUNSETOFFLOAD";
    }
    if (failed == nullptr) {
        offload_ = true;
        return;
    }
    std::string note = std::string{"offload off: "} + failed + " failed on " + name_ + " (" + std::strerror(err) + ")";
    // IFF_VNET_HDR cannot be cleared on an attached fd: attach again without it.
    const std::string attached = name_;
    ::close(fd_);
    fd_ = -1;
    open_tap(attached, false);
    offload_note_ = std::move(note);
}

tap_device tap_device::adopt(int fd, std::string name) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        fail(errno, "cannot make fd " + std::to_string(fd) + " non-blocking");
    tap_device d;
    d.fd_ = fd;
    d.name_ = std::move(name);
    return d;
}

tap_device tap_device::adopt(int fd, std::string name, bool vnet_header) {
    tap_device d = adopt(fd, std::move(name));
    d.vnet_header_ = d.offload_ = vnet_header;
    return d;
}

tap_device::tap_device(tap_device&& other) noexcept
    : fd_{std::exchange(other.fd_, -1)},
      name_{std::move(other.name_)},
      vnet_header_{other.vnet_header_},
      offload_{other.offload_},
      offload_note_{std::move(other.offload_note_)} {}

tap_device& tap_device::operator=(tap_device&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        name_ = std::move(other.name_);
        vnet_header_ = other.vnet_header_;
        offload_ = other.offload_;
        offload_note_ = std::move(other.offload_note_);
    }
    return *this;
}

tap_device::~tap_device() {
    if (fd_ >= 0) ::close(fd_);
}

int tap_device::release() noexcept { return std::exchange(fd_, -1); }

void tap_device::configure_host(const ip::interface_address& host) const {
    ioctl_socket s;
    ifreq ifr = request_for(name_);
    set_ipv4(ifr, host.addr.to_uint());
    if (::ioctl(s.get(), SIOCSIFADDR, &ifr) < 0)
        fail(errno, "cannot set address " + host.addr.to_string() + " on " + name_ + " (SIOCSIFADDR)");
    ifr = request_for(name_);
    set_ipv4(ifr, host.netmask());
    if (::ioctl(s.get(), SIOCSIFNETMASK, &ifr) < 0)
        fail(errno, "cannot set netmask /" + std::to_string(host.prefix_length) + " on " + name_ + " (SIOCSIFNETMASK)");
    set_up();
}

void tap_device::set_up() const {
    ioctl_socket s;
    ifreq ifr = request_for(name_);
    if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) fail(errno, "cannot read flags of " + name_ + " (SIOCGIFFLAGS)");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) fail(errno, "cannot bring " + name_ + " up (SIOCSIFFLAGS)");
}

int tap_device::mtu() const {
    ioctl_socket s;
    ifreq ifr = request_for(name_);
    if (::ioctl(s.get(), SIOCGIFMTU, &ifr) < 0) fail(errno, "cannot read the MTU of " + name_ + " (SIOCGIFMTU)");
    return ifr.ifr_mtu;
}

}  // namespace tapstack::tap
