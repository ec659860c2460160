#pragma once
// What an Asio-style socket (tapstack::ip::tcp::socket, ...) needs from whatever drives a stack:
// the TAP runtime, the in-memory runtime of tests and examples, or anything else that owns the
// loop of receive()/poll() and a timer.
#include <boost/asio/any_io_executor.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/stack.hpp>

namespace tapstack::tap {

/// Threading contract: a stack, its driver and every socket over it live on one thread (one
/// io_context run by one thread, or one strand). Every member here and every socket member is
/// called from that thread only. Other threads hand work over with
/// `boost::asio::post(sock.get_executor(), ...)`.
/// The context must outlive every socket created over it.
class stack_context {
public:
    /// The sans-I/O core this context drives.
    virtual tapstack::stack& stack() noexcept = 0;
    /// The current time on the stack's clock (what the driver passes to receive()/poll()).
    virtual instant now() const noexcept = 0;
    /// The executor the driver runs on; sockets post their work and default completions here.
    virtual boost::asio::any_io_executor get_executor() noexcept = 0;
    /// Called after any core call that may have emitted frames or changed timers: the driver
    /// (soon, never re-entrantly) runs poll(now()), flushes output and re-arms its timer.
    virtual void kick() = 0;

protected:
    ~stack_context() = default;
};

}  // namespace tapstack::tap
