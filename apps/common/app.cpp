#include "app.hpp"

#include <csignal>
#include <exception>
#include <iostream>
#include <boost/asio/post.hpp>
#include <tapstack/tap/tap_device.hpp>

namespace tapstack::app {

stack_config make_stack_config(const common_options& opts) {
    stack_config cfg;
    if (opts.ip) cfg.ipv4 = *opts.ip;
    if (opts.mac) cfg.mac = *opts.mac;
    cfg.gateway = opts.gateway;
    if (opts.seed) cfg.seed = *opts.seed;
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
    const stack_config cfg = make_stack_config(opts_);
    if (auto err = cfg.validate()) throw std::runtime_error{"bad configuration: " + *err};
    tap::tap_device dev{opts_.tap};
    if (opts_.host_ip) dev.configure_host(*opts_.host_ip);
    else dev.set_up();
    if (!opts_.pcap.empty())
        pcap_ = std::make_unique<tap::pcap_writer>(
            opts_.pcap, opts_.pcap_nanoseconds ? tap::timestamp_precision::nano : tap::timestamp_precision::micro);
    tap::runtime_config rc;
    rc.stack = cfg;
    rc.seed = opts_.seed;
    rc.pcap = pcap_.get();
    runtime_ = std::make_unique<tap::runtime>(io_, std::move(dev), rc);
    ready_ = [this] { std::cout << ready_line() << std::endl; };
}

app_context::~app_context() = default;

std::string app_context::ready_line() const {
    const auto& cfg = runtime_->stack().config();
    return "ready ip=" + cfg.ipv4.to_string() + " mac=" + cfg.mac.to_string() + " tap=" + runtime_->device_name();
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
    // The ready line comes from the loop itself: once it prints, frames are being read.
    boost::asio::post(io_, [this] {
        if (ready_) ready_();
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
