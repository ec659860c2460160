#pragma once
// The runtime set-up every app shares: TAP device, kernel-side address, stack_config, pcap,
// the Asio runtime, and SIGINT/SIGTERM (flush the pcap, exit 0) / SIGUSR1 handling.
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/tap/pcap_writer.hpp>
#include <tapstack/tap/runtime.hpp>
#include "options.hpp"

namespace tapstack::app {

/// The stack_config the common options describe (defaults for the rest).
stack_config make_stack_config(const common_options& opts);
/// The address services bind: the IPv6 wildcard (taking IPv4 too) when --ip6 is given.
ip::address wildcard_address(const common_options& opts);

/// Owns everything below an app's services. Lives on the thread that calls run(); see the
/// threading contract in <tapstack/tap/runtime.hpp>.
class app_context {
public:
    /// Opens (creating if needed) the TAP, configures the host side if --host-ip was given,
    /// opens the pcap if --pcap was given, and builds the runtime. Throws std::exception with a
    /// readable message on failure (run_main prints it and exits 1).
    app_context(std::string program, const common_options& opts);
    app_context(const app_context&) = delete;
    app_context& operator=(const app_context&) = delete;
    ~app_context();

    boost::asio::io_context& io() noexcept { return io_; }
    tap::runtime& runtime() noexcept { return *runtime_; }
    tapstack::stack& stack() noexcept { return runtime_->stack(); }
    const common_options& options() const noexcept { return opts_; }
    const std::string& program() const noexcept { return program_; }

    /// Called on SIGINT/SIGTERM, in registration order, before the pcap is flushed.
    void on_shutdown(std::function<void()> fn) { shutdown_.push_back(std::move(fn)); }
    /// Called on every SIGUSR1.
    void on_usr1(std::function<void()> fn) { usr1_.push_back(std::move(fn)); }
    /// Called once the runtime reads the TAP (default: print the ready line).
    void on_ready(std::function<void()> fn) { ready_ = std::move(fn); }
    /// "ready ip=10.99.0.2/24 mac=02:54:41:50:00:01 tap=tap0"
    std::string ready_line() const;

    /// Starts the runtime and runs the io_context until a shutdown signal (or stop()).
    /// Returns the exit status (0).
    int run();
    /// Shuts down as a signal would (from the io_context's thread).
    void stop();

private:
    void wait_usr1();

    std::string program_;
    common_options opts_;
    boost::asio::io_context io_{1};
    std::unique_ptr<tap::pcap_writer> pcap_;
    std::unique_ptr<tap::runtime> runtime_;
    boost::asio::signal_set stop_signals_;
    boost::asio::signal_set usr1_signal_;
    std::vector<std::function<void()>> shutdown_;
    std::vector<std::function<void()>> usr1_;
    std::function<void()> ready_;
    bool stopped_ = false;
};

/// Runs `body`, turning an escaping exception into "program: message" on stderr and exit 1.
int run_main(const std::string& program, const std::function<int()>& body);

}  // namespace tapstack::app
