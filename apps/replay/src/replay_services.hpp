#pragma once
// The services a replayed stack runs (private to the replay engine): the very services of
// echo-server and http-hello (apps/services), on a tap::stack_context whose clock is the
// replay's virtual one. Their coroutines run on an io_context of our own that nothing else
// drives: run() lets every completion that is ready run at the instant given, as the TAP
// runtime runs them after a receive batch.
#include <memory>
#include <optional>
#include <set>
#include <vector>
#include <boost/asio/io_context.hpp>
#include <tapstack/replay/replay.hpp>
#include <tapstack/services/service.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/tap/stack_context.hpp>

namespace tapstack::tap::detail {

class replay_services final : public stack_context {
public:
    replay_services(tapstack::stack& s, replay_app app, std::optional<duration> idle_close);
    ~replay_services();
    replay_services(const replay_services&) = delete;
    replay_services& operator=(const replay_services&) = delete;

    /// Listens on the TCP ports and binds the UDP ports (nothing for replay_app::none; no UDP
    /// for http-hello, which has none).
    void open(const std::set<std::uint16_t>& tcp_ports, const std::set<std::uint16_t>& udp_ports,
              bool dual_stack = false);
    /// Sets the clock the services see (a datagram is served inside stack::receive).
    void at(instant now) noexcept { now_ = now; }
    /// Runs every ready completion at `now` (and those they make ready); returns how many ran.
    std::size_t run(instant now);
    /// The earliest idle-close deadline, if any.
    std::optional<instant> deadline() const;
    /// Closes the connections idle for idle_close (if set) at `now`.
    void on_timer(instant now);

    // stack_context
    tapstack::stack& stack() noexcept override { return *stack_; }
    instant now() const noexcept override { return now_; }
    boost::asio::any_io_executor get_executor() noexcept override { return io_.get_executor(); }
    /// The replay polls the stack itself after every run() and frame.
    void kick() override {}

private:
    tapstack::stack* stack_;
    replay_app app_;
    std::optional<duration> idle_close_;
    instant now_{};
    // One thread, and nothing but posted completions (no reactor): no locking needed.
    boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
    std::vector<std::unique_ptr<services::service>> services_;
};

}  // namespace tapstack::tap::detail
