#pragma once
// Two stacks in one process joined by an in-memory wire, driven by a Boost.Asio executor on the
// real steady clock: the runtime for tests and examples that need Asio sockets but no TAP.
//
//     boost::asio::io_context io;
//     tapstack::tap::memory_runtime rt{io.get_executor()};
//     tapstack::ip::tcp::acceptor acc{rt.b(), {rt.b_address(), 7}};
//     tapstack::ip::tcp::socket client{rt.a()};
//     client.async_connect({rt.b_address(), 7}, ...);
//     io.run_for(1s);
//
// Frames are queued in a link::memory_link and delivered from a posted handler, never
// re-entrantly from inside a send. One steady_timer is armed at the earlier of both stacks'
// deadlines. Threading: like every stack_context, the runtime and its sockets belong to the
// thread running the executor; other threads post to it. While either stack has a timer
// pending (TIME-WAIT, keepalive, ...) the timer is outstanding work: use run_for(), stop() or
// let the runtime go out of scope rather than waiting for run() to return on its own.
#include <chrono>
#include <memory>
#include <optional>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/tap/stack_context.hpp>

namespace tapstack::tap {

struct memory_runtime_config {
    /// Defaults: A is 10.0.0.1/24, B is 10.0.0.2/24, distinct MACs and seeds.
    stack_config a = default_a();
    stack_config b = default_b();
    link::memory_link_config link{};

    static stack_config default_a();
    static stack_config default_b();
};

class memory_runtime {
public:
    explicit memory_runtime(boost::asio::any_io_executor ex, const memory_runtime_config& cfg = {});
    ~memory_runtime();
    memory_runtime(const memory_runtime&) = delete;
    memory_runtime& operator=(const memory_runtime&) = delete;

    /// Side A and side B as contexts for sockets.
    stack_context& a() noexcept { return a_; }
    stack_context& b() noexcept { return b_; }
    ip::address a_address() const noexcept { return ip::address{cfg_.a.ipv4.addr}; }
    ip::address b_address() const noexcept { return ip::address{cfg_.b.ipv4.addr}; }

    boost::asio::any_io_executor get_executor() const noexcept { return ex_; }
    /// Microseconds of std::chrono::steady_clock since the runtime was created.
    instant now() const noexcept;
    link::memory_link& link() noexcept { return link_; }

    /// Requests a service pass (deliver frames, poll both stacks, re-arm the timer), posted.
    void kick();

private:
    class side final : public stack_context {
    public:
        side(memory_runtime& rt, const stack_config& cfg, link::frame_sink& out) : rt_{&rt}, stack_{cfg, out} {}
        tapstack::stack& stack() noexcept override { return stack_; }
        instant now() const noexcept override { return rt_->now(); }
        boost::asio::any_io_executor get_executor() noexcept override { return rt_->ex_; }
        void kick() override { rt_->kick(); }

    private:
        memory_runtime* rt_;
        tapstack::stack stack_;
    };

    void service();
    void arm(std::optional<instant> deadline);

    memory_runtime_config cfg_;
    boost::asio::any_io_executor ex_;
    std::chrono::steady_clock::time_point start_;
    link::memory_link link_;
    side a_;
    side b_;
    boost::asio::steady_timer timer_;
    std::optional<instant> armed_;
    bool scheduled_ = false;
    /// Posted jobs and timer waits hold a weak reference: they do nothing once we are gone.
    std::shared_ptr<memory_runtime*> alive_;
};

}  // namespace tapstack::tap
