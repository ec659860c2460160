#include "app.hpp"
#include <tapstack/tap/allocator_tuning.hpp>

#include <csignal>
#include <exception>
#include <iostream>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ipv6.h>
#include <tapstack/tap/tap_device.hpp>

namespace tapstack::app {
namespace {
/// Adds an IPv6 address to the kernel side of the TAP (what `ip -6 addr add` does: SIOCSIFADDR
/// on an AF_INET6 socket with an in6_ifreq). Call after the interface exists.
void add_host_ipv6(const std::string& ifname, const ip::interface_address_v6& a) {
    const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error{"cannot open an AF_INET6 socket: " + std::string{std::strerror(errno)}};
    in6_ifreq req{};
    std::memcpy(&req.ifr6_addr, a.addr.to_bytes().data(), 16);
    req.ifr6_prefixlen = a.prefix_length;
    req.ifr6_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
    const int rc = req.ifr6_ifindex == 0 ? -1 : ::ioctl(fd, SIOCSIFADDR, &req);
    const int err = errno;
    ::close(fd);
    if (rc < 0 && err != EEXIST)
        throw std::runtime_error{"cannot set address " + a.to_string() + " on " + ifname + ": " + std::strerror(err)};
}
}  // namespace

ip::address wildcard_address(const common_options& opts) {
    // With --ip6 one IPv6 wildcard socket serves both families (IPV6_V6ONLY off, as on Linux).
    return opts.ip6 ? ip::address{ip::address_v6::any()} : ip::address{ip::address_v4::any()};
}

stack_config make_stack_config(const common_options& opts) {
    stack_config cfg;
    if (opts.ip) cfg.ipv4 = *opts.ip;
    if (opts.mac) cfg.mac = *opts.mac;
    cfg.gateway = opts.gateway;
    if (opts.ip6) cfg.ipv6 = *opts.ip6;
    if (opts.seed) cfg.seed = *opts.seed;
    cfg.deterministic = opts.deterministic;
    if (opts.max_connections) {
        cfg.max_tcp_sockets = *opts.max_connections;
        cfg.max_syn_backlog = *opts.max_connections;
    }
    if (opts.tcp_buffer) {
        cfg.tcp.send_buffer_size = *opts.tcp_buffer;
        cfg.tcp.receive_buffer_size = *opts.tcp_buffer;
    }
    return cfg;
}

app_context::app_context(std::string program, const common_options& opts)
    : program_{std::move(program)}, opts_{opts}, stop_signals_{io_, SIGINT, SIGTERM}, usr1_signal_{io_, SIGUSR1} {
    tap::tune_allocator_for_connection_churn();
    const stack_config cfg = make_stack_config(opts_);
    if (auto err = cfg.validate()) throw std::runtime_error{"bad configuration: " + *err};
    tap::tap_device dev{opts_.tap, opts_.offload};
    if (opts_.offload && !dev.offload()) std::cerr << program_ << ": " << dev.offload_note() << std::endl;
    if (opts_.host_ip)
        dev.configure_host(*opts_.host_ip);
    else
        dev.set_up();
    if (opts_.host_ip6) add_host_ipv6(dev.name(), *opts_.host_ip6);
    if (!opts_.pcap.empty())
        pcap_ = std::make_unique<tap::pcap_writer>(
            opts_.pcap, opts_.pcap_nanoseconds ? tap::timestamp_precision::nano : tap::timestamp_precision::micro);
    tap::runtime_config rc;
    rc.stack = cfg;
    rc.seed = opts_.seed;
    rc.pcap = pcap_.get();
    runtime_ = std::make_unique<tap::runtime>(io_, std::move(dev), rc);
    // --deterministic: the pcap's timestamps are the stack's own instants (epoch 0, so the file
    // starts in 1970), not wall-clock time, so that replay --deterministic can drive its virtual
    // clock to exactly the instants this stack saw (the runtime set a wall-clock epoch above).
    if (opts_.deterministic && pcap_) pcap_->set_epoch(std::chrono::nanoseconds{0});
    ready_ = [this] { std::cout << ready_line() << std::endl; };
}

app_context::~app_context() = default;

std::string app_context::ready_line() const {
    const auto& cfg = runtime_->stack().config();
    std::string v6;
    if (cfg.ipv6) v6 = " ip6=" + cfg.ipv6->to_string() + " ll=" + runtime_->stack().ipv6_link_local().to_string();
    return "ready ip=" + cfg.ipv4.to_string() + v6 + " mac=" + cfg.mac.to_string() + " tap=" + runtime_->device_name();
}

void app_context::wait_usr1() {
    usr1_signal_.async_wait([this](const boost::system::error_code& ec, int) {
        if (ec) return;
        for (auto& fn : usr1_) fn();
        wait_usr1();
    });
}

void app_context::stop() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& fn : shutdown_) fn();
    runtime_->stop();
    if (pcap_) pcap_->flush();
    boost::system::error_code ignored;
    stop_signals_.cancel(ignored);
    usr1_signal_.cancel(ignored);
    io_.stop();
}

int app_context::run() {
    stop_signals_.async_wait([this](const boost::system::error_code& ec, int) {
        if (!ec) stop();
    });
    wait_usr1();
    runtime_->start();
    // The ready line comes from the loop itself: once it prints, frames are being read. With
    // IPv6 it waits for duplicate address detection (RFC 4862 §5.4), so that the addresses it
    // names are usable, and a conflict ends the program with one clear line.
    auto settle = std::make_shared<boost::asio::steady_timer>(io_);
    auto check = std::make_shared<std::function<void()>>();
    *check = [this, settle, check] {
        auto& st = runtime_->stack();
        const auto& cfg = st.config();
        bool tentative = false;
        for (const auto& a : {st.ipv6_link_local(), cfg.ipv6 ? cfg.ipv6->addr : ip::address_v6{}}) {
            if (a.is_unspecified()) continue;
            const auto state = st.ipv6_address_state(a);
            if (state == stack::address_state::duplicate)
                throw std::runtime_error{"IPv6 address " + a.to_string() +
                                         " is already in use on the link (duplicate address detection)"};
            tentative = tentative || state == stack::address_state::tentative;
        }
        if (tentative) {
            settle->expires_after(std::chrono::milliseconds{50});
            settle->async_wait([check](const boost::system::error_code& ec) {
                if (ec || !*check) return;
                auto run_once = *check;  // a copy: the stored one clears itself when done
                run_once();
            });
            return;
        }
        *check = nullptr;  // break the cycle; this lambda is still running from its copy below
        if (ready_) ready_();
    };
    boost::asio::post(io_, [check] {
        auto run_once = *check;
        run_once();
    });
    io_.run();
    if (pcap_) pcap_->flush();
    return 0;
}

int run_main(const std::string& program, const std::function<int()>& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << '\n';
        return 1;
    }
}

}  // namespace tapstack::app
