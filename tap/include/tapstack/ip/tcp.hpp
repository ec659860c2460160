#pragma once
// tapstack::ip::tcp: Asio-style TCP sockets over a tapstack::stack, named as boost::asio::ip::tcp
// names them, so boost::asio::async_read/async_write/async_read_until, co_spawn and Boost.Beast
// work unchanged (the socket is an AsyncReadStream and an AsyncWriteStream).
//
// Threading: a socket, its acceptor and the stack they use live on the stack_context's thread
// (one io_context run by one thread, or one strand). Call members only from there; from another
// thread use `boost::asio::post(sock.get_executor(), [&] { sock.async_...(..., token); })`.
// Completion handlers run on their associated executor (default: the socket's executor) and are
// never invoked from inside the initiating function.
//
// Every async operation is a boost::asio::async_initiate, so a callback, boost::asio::use_future,
// boost::asio::use_awaitable and boost::asio::deferred all work. Pending operations count as
// outstanding work on the socket's executor (io_context::run() keeps running), as Asio's do.
//
// Cancellation: cancel() and close() complete every pending operation with
// boost::asio::error::operation_aborted. Per-operation cancellation through the handler's
// associated cancellation slot (bind_cancellation_slot, awaitable_operators, ...) is supported
// by async_connect, async_read_some, async_write_some and async_accept, for every cancellation
// type (terminal, partial, total): a pending operation has transferred nothing yet.
//
// Shutdown: destroying the io_context destroys, without invoking, the handler of every
// operation still pending (detail::socket_service), as Asio's sockets do, so a session kept
// alive only by its own pending handler (shared_from_this, a coroutine frame) is freed.
#include <cstddef>
#include <memory>
#include <utility>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/ip/endpoint_conversions.hpp>
#include <tapstack/ip/error.hpp>
#include <tapstack/ip/socket_base.hpp>
#include <tapstack/ip/socket_impl.hpp>
#include <tapstack/tap/stack_context.hpp>

namespace tapstack::ip {

class tcp {
public:
    /// tapstack::ip::endpoint; convert with to_asio_tcp()/from_asio() (endpoint_conversions.hpp).
    using endpoint = tapstack::ip::endpoint;
    using no_delay = detail::no_delay_option;

    static constexpr tcp v4() noexcept { return tcp{family::v4}; }
    static constexpr tcp v6() noexcept { return tcp{family::v6}; }
    constexpr ip::family family_of() const noexcept { return family_; }
    friend constexpr bool operator==(tcp, tcp) noexcept = default;

    class socket;
    class acceptor;

private:
    constexpr explicit tcp(ip::family f) noexcept : family_{f} {}
    ip::family family_;
};

namespace detail {
/// Wraps a user's accept handler for the type-erased impl: turns the accepted impl into a
/// tcp::socket (or assigns the caller's socket) and forwards every associator to the user's.
template <class Handler, class Result>
struct accept_adapter {
    Handler handler;
    tap::stack_context* ctx;
    boost::asio::any_io_executor ex;
    tcp::socket* target;  // async_accept(socket&, token); nullptr: deliver the socket

    void operator()(error_code ec, std::shared_ptr<tcp_socket_impl> impl);
};
}  // namespace detail

/// A TCP stream socket (boost::asio::ip::tcp::socket's counterpart).
class tcp::socket : public socket_base {
public:
    using executor_type = boost::asio::any_io_executor;
    using protocol_type = tcp;
    using endpoint_type = tcp::endpoint;
    using lowest_layer_type = socket;

    /// A closed socket over `ctx`; its executor is ctx.get_executor().
    explicit socket(tap::stack_context& ctx) : socket{ctx, ctx.get_executor()} {}
    /// A closed socket whose completions default to `ex` (for example a strand over the context's).
    socket(tap::stack_context& ctx, executor_type ex) : ctx_{&ctx}, ex_{std::move(ex)} {}
    /// An accepted connection (used by acceptor).
    socket(tap::stack_context& ctx, executor_type ex, std::shared_ptr<detail::tcp_socket_impl> impl)
        : ctx_{&ctx}, ex_{std::move(ex)}, impl_{std::move(impl)} {}
    socket(socket&& o) noexcept = default;
    /// Closes this socket first, like Asio's move assignment.
    socket& operator=(socket&& o) noexcept {
        if (this != &o) {
            close_quietly();
            ctx_ = o.ctx_;
            ex_ = std::move(o.ex_);
            impl_ = std::move(o.impl_);
        }
        return *this;
    }
    /// Orderly close (FIN after the queued data); pending operations: operation_aborted.
    ~socket() { close_quietly(); }

    executor_type get_executor() const noexcept { return ex_; }
    lowest_layer_type& lowest_layer() noexcept { return *this; }
    const lowest_layer_type& lowest_layer() const noexcept { return *this; }
    tap::stack_context& context() const noexcept { return *ctx_; }

    bool is_open() const noexcept { return impl_ && impl_->is_open(); }

    void open(const tcp& p = tcp::v4()) {
        boost::system::error_code ec;
        open(p, ec);
        boost::asio::detail::throw_error(ec, "open");
    }
    void open(const tcp& p, boost::system::error_code& ec) {
        (void)p;  // either family: the core's sockets are dual-stack
        ensure_impl();
        ec = impl_->open();
    }
    void bind(const endpoint_type& local) {
        boost::system::error_code ec;
        bind(local, ec);
        boost::asio::detail::throw_error(ec, "bind");
    }
    void bind(const endpoint_type& local, boost::system::error_code& ec) {
        ec = {};
        if (!is_open()) open(tcp::v4(), ec);
        if (!ec) ec = impl_->bind(local);
    }

    /// Connects to `peer`, opening the socket first if needed.
    /// Completion signature: void(boost::system::error_code).
    /// Errors: connection_refused, timed_out, host_unreachable, operation_aborted, ...
    template <boost::asio::completion_token_for<void(boost::system::error_code)> Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_connect(const endpoint_type& peer, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler, const endpoint_type& p) {
                ensure_impl();
                impl_->start_connect(p, detail::error_handler{std::move(handler), impl_->executor()});
            },
            token, peer);
    }

    /// Reads at least one byte (or fails). A zero-size buffer sequence completes at once.
    /// Completion signature: void(boost::system::error_code, std::size_t).
    /// The peer's FIN: boost::asio::error::eof; a reset: connection_reset.
    template <class MutableBufferSequence,
              boost::asio::completion_token_for<void(boost::system::error_code, std::size_t)> Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBufferSequence& b) {
                ensure_impl();
                impl_->start_read(detail::to_buffer_list_mutable(b),
                                  detail::io_handler{std::move(handler), impl_->executor()});
            },
            token, buffers);
    }

    /// Writes at least one byte (as much as the send buffer takes).
    /// Completion signature: void(boost::system::error_code, std::size_t).
    template <class ConstBufferSequence,
              boost::asio::completion_token_for<void(boost::system::error_code, std::size_t)> Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& b) {
                ensure_impl();
                impl_->start_write(detail::to_buffer_list_const(b),
                                   detail::io_handler{std::move(handler), impl_->executor()});
            },
            token, buffers);
    }

    /// Non-blocking: the stack runs on this very thread, so waiting here would wait forever.
    /// Nothing to read: boost::asio::error::would_block.
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
        if (!impl_) {
            ec = boost::asio::error::bad_descriptor;
            return 0;
        }
        return impl_->try_read(detail::to_buffer_list_mutable(buffers), ec);
    }
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers) {
        boost::system::error_code ec;
        const auto n = read_some(buffers, ec);
        boost::asio::detail::throw_error(ec, "read_some");
        return n;
    }
    /// Non-blocking: no send space is boost::asio::error::would_block.
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
        if (!impl_) {
            ec = boost::asio::error::bad_descriptor;
            return 0;
        }
        return impl_->try_write(detail::to_buffer_list_const(buffers), ec);
    }
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers) {
        boost::system::error_code ec;
        const auto n = write_some(buffers, ec);
        boost::asio::detail::throw_error(ec, "write_some");
        return n;
    }

    /// shutdown_send sends FIN after the queued data. shutdown_receive is accepted and does
    /// nothing (the core has no read-side shutdown); shutdown_both = shutdown_send.
    void shutdown(shutdown_type what, boost::system::error_code& ec) {
        if (!is_open()) {
            ec = boost::asio::error::bad_descriptor;
            return;
        }
        ec = {};
        if (what != shutdown_receive) ec = impl_->shutdown_send();
    }
    void shutdown(shutdown_type what) {
        boost::system::error_code ec;
        shutdown(what, ec);
        boost::asio::detail::throw_error(ec, "shutdown");
    }

    /// Orderly close; pending operations complete with operation_aborted.
    void close(boost::system::error_code& ec) {
        ec = {};
        if (impl_) impl_->close();
    }
    void close() {
        boost::system::error_code ec;
        close(ec);
    }
    /// Closes with RST instead of FIN (SO_LINGER with a zero timeout).
    void abort() {
        if (impl_) impl_->abort();
    }
    /// Pending operations complete with operation_aborted; the connection is untouched.
    void cancel(boost::system::error_code& ec) {
        ec = {};
        if (impl_) impl_->cancel();
    }
    void cancel() {
        boost::system::error_code ec;
        cancel(ec);
    }

    endpoint_type local_endpoint(boost::system::error_code& ec) const {
        if (!impl_) {
            ec = boost::asio::error::bad_descriptor;
            return {};
        }
        return impl_->local_endpoint(ec);
    }
    endpoint_type local_endpoint() const {
        boost::system::error_code ec;
        auto e = local_endpoint(ec);
        boost::asio::detail::throw_error(ec, "local_endpoint");
        return e;
    }
    endpoint_type remote_endpoint(boost::system::error_code& ec) const {
        if (!impl_) {
            ec = boost::asio::error::bad_descriptor;
            return {};
        }
        return impl_->remote_endpoint(ec);
    }
    endpoint_type remote_endpoint() const {
        boost::system::error_code ec;
        auto e = remote_endpoint(ec);
        boost::asio::detail::throw_error(ec, "remote_endpoint");
        return e;
    }
    /// Bytes readable without waiting.
    std::size_t available(boost::system::error_code& ec) const {
        if (!impl_) {
            ec = boost::asio::error::bad_descriptor;
            return 0;
        }
        return impl_->available(ec);
    }
    std::size_t available() const {
        boost::system::error_code ec;
        auto n = available(ec);
        boost::asio::detail::throw_error(ec, "available");
        return n;
    }

    // Options: tcp::no_delay, socket_base::keep_alive, socket_base::reuse_address,
    // socket_base::send_buffer_size / receive_buffer_size. Set before
    // open, they are remembered and applied on open/connect.
    void set_option(const no_delay& o, boost::system::error_code& ec) { ec = ensure_impl().set_no_delay(o.value()); }
    void set_option(const keep_alive& o, boost::system::error_code& ec) {
        ec = ensure_impl().set_keep_alive(o.value());
    }
    void set_option(const reuse_address& o, boost::system::error_code& ec) {
        ec = ensure_impl().set_reuse_address(o.value());
    }
    void set_option(const send_buffer_size& o, boost::system::error_code& ec) {
        ec = ensure_impl().set_send_buffer_size(o.value());
    }
    void set_option(const receive_buffer_size& o, boost::system::error_code& ec) {
        ec = ensure_impl().set_receive_buffer_size(o.value());
    }
    template <class Option>
    void set_option(const Option& o) {
        boost::system::error_code ec;
        set_option(o, ec);
        boost::asio::detail::throw_error(ec, "set_option");
    }
    void get_option(no_delay& o, boost::system::error_code& ec) const {
        ec = {};
        o = impl_ && impl_->no_delay();
    }
    void get_option(keep_alive& o, boost::system::error_code& ec) const {
        ec = {};
        o = impl_ && impl_->keep_alive();
    }
    void get_option(reuse_address& o, boost::system::error_code& ec) const {
        ec = {};
        o = impl_ && impl_->reuse_address();
    }
    void get_option(send_buffer_size& o, boost::system::error_code& ec) const {
        ec = {};
        o = impl_ ? impl_->send_buffer_size() : 0;
    }
    void get_option(receive_buffer_size& o, boost::system::error_code& ec) const {
        ec = {};
        o = impl_ ? impl_->receive_buffer_size() : 0;
    }
    template <class Option>
    void get_option(Option& o) const {
        boost::system::error_code ec;
        get_option(o, ec);
        boost::asio::detail::throw_error(ec, "get_option");
    }

    /// The core's handle (for stats and `ss`-like listings); invalid when closed.
    socket_handle native_handle() const noexcept { return impl_ ? impl_->handle() : socket_handle{}; }

private:
    friend class acceptor;
    detail::tcp_socket_impl& ensure_impl() {
        if (!impl_) impl_ = std::make_shared<detail::tcp_socket_impl>(*ctx_, ex_);
        return *impl_;
    }
    void close_quietly() noexcept {
        if (impl_) impl_->close();
        impl_.reset();
    }

    tap::stack_context* ctx_;
    executor_type ex_;
    std::shared_ptr<detail::tcp_socket_impl> impl_;
};

/// Accepts incoming TCP connections (boost::asio::ip::tcp::acceptor's counterpart).
class tcp::acceptor : public socket_base {
public:
    using executor_type = boost::asio::any_io_executor;
    using protocol_type = tcp;
    using endpoint_type = tcp::endpoint;

    explicit acceptor(tap::stack_context& ctx) : acceptor{ctx, ctx.get_executor()} {}
    acceptor(tap::stack_context& ctx, executor_type ex)
        : ctx_{&ctx}, ex_{std::move(ex)}, impl_{std::make_shared<detail::tcp_socket_impl>(ctx, ex_)} {}
    /// Opens, sets reuse_address (if asked), binds and listens, as Asio's convenience ctor.
    acceptor(tap::stack_context& ctx, const endpoint_type& local, bool reuse_addr = true) : acceptor{ctx} {
        open();
        if (reuse_addr) set_option(reuse_address{true});
        bind(local);
        listen();
    }
    acceptor(acceptor&&) noexcept = default;
    ~acceptor() {
        if (impl_) impl_->close();
    }

    executor_type get_executor() const noexcept { return ex_; }
    bool is_open() const noexcept { return impl_ && impl_->is_open(); }

    void open(const tcp& p, boost::system::error_code& ec) {
        (void)p;  // either family: the core's sockets are dual-stack
        ec = impl_->open();
    }
    void open(const tcp& p = tcp::v4()) {
        boost::system::error_code ec;
        open(p, ec);
        boost::asio::detail::throw_error(ec, "open");
    }
    void set_option(const reuse_address& o, boost::system::error_code& ec) { ec = impl_->set_reuse_address(o.value()); }
    /// Inherited by accepted sockets (as the ones below).
    void set_option(const send_buffer_size& o, boost::system::error_code& ec) {
        ec = impl_->set_send_buffer_size(o.value());
    }
    void set_option(const receive_buffer_size& o, boost::system::error_code& ec) {
        ec = impl_->set_receive_buffer_size(o.value());
    }
    void set_option(const no_delay& o, boost::system::error_code& ec) { ec = impl_->set_no_delay(o.value()); }
    void set_option(const keep_alive& o, boost::system::error_code& ec) {
        impl_->set_keep_alive(o.value());
        ec = {};
    }
    template <class Option>
    void set_option(const Option& o) {
        boost::system::error_code ec;
        set_option(o, ec);
        boost::asio::detail::throw_error(ec, "set_option");
    }
    void get_option(reuse_address& o) const { o = impl_->reuse_address(); }
    void get_option(send_buffer_size& o) const { o = impl_->send_buffer_size(); }
    void get_option(receive_buffer_size& o) const { o = impl_->receive_buffer_size(); }
    void bind(const endpoint_type& local, boost::system::error_code& ec) {
        ec = {};
        if (!is_open()) open(tcp::v4(), ec);
        if (!ec) ec = impl_->bind(local);
    }
    void bind(const endpoint_type& local) {
        boost::system::error_code ec;
        bind(local, ec);
        boost::asio::detail::throw_error(ec, "bind");
    }
    void listen(int backlog, boost::system::error_code& ec) {
        ec = impl_->listen(static_cast<std::uint32_t>(backlog > 0 ? backlog : 1));
    }
    void listen(int backlog = max_listen_connections) {
        boost::system::error_code ec;
        listen(backlog, ec);
        boost::asio::detail::throw_error(ec, "listen");
    }
    endpoint_type local_endpoint(boost::system::error_code& ec) const { return impl_->local_endpoint(ec); }
    endpoint_type local_endpoint() const {
        boost::system::error_code ec;
        auto e = local_endpoint(ec);
        boost::asio::detail::throw_error(ec, "local_endpoint");
        return e;
    }
    /// Stops listening; unaccepted connections are reset. Pending accepts: operation_aborted.
    void close(boost::system::error_code& ec) {
        ec = {};
        impl_->close();
    }
    void close() { impl_->close(); }
    void cancel(boost::system::error_code& ec) {
        ec = {};
        impl_->cancel();
    }
    void cancel() { impl_->cancel(); }

    /// Accepts one connection. Completion signature: void(boost::system::error_code, tcp::socket).
    template <boost::asio::completion_token_for<void(boost::system::error_code, tcp::socket)> Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_accept(Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, tcp::socket)>(
            [this](auto handler) {
                using adapter = detail::accept_adapter<decltype(handler), tcp::socket>;
                impl_->start_accept(
                    detail::accept_handler{adapter{std::move(handler), ctx_, ex_, nullptr}, impl_->executor()});
            },
            token);
    }
    /// Accepts one connection into `peer` (which must stay alive until completion).
    /// Completion signature: void(boost::system::error_code).
    template <boost::asio::completion_token_for<void(boost::system::error_code)> Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_accept(tcp::socket& peer, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this, &peer](auto handler) {
                using adapter = detail::accept_adapter<decltype(handler), void>;
                impl_->start_accept(
                    detail::accept_handler{adapter{std::move(handler), ctx_, ex_, &peer}, impl_->executor()});
            },
            token);
    }

private:
    tap::stack_context* ctx_;
    executor_type ex_;
    std::shared_ptr<detail::tcp_socket_impl> impl_;
};

namespace detail {
template <class Handler, class Result>
void accept_adapter<Handler, Result>::operator()(error_code ec, std::shared_ptr<tcp_socket_impl> impl) {
    if constexpr (std::is_void_v<Result>) {
        if (!ec) *target = tcp::socket{*ctx, target->get_executor(), std::move(impl)};
        std::move(handler)(ec);
    } else {
        if (ec) {
            std::move(handler)(ec, tcp::socket{*ctx, ex});
        } else {
            std::move(handler)(ec, tcp::socket{*ctx, ex, std::move(impl)});
        }
    }
}
}  // namespace detail

}  // namespace tapstack::ip

// The adapter is transparent: the user's executor, allocator and cancellation slot are used.
template <template <typename, typename> class Associator, class Handler, class Result, class DefaultCandidate>
struct boost::asio::associator<Associator, tapstack::ip::detail::accept_adapter<Handler, Result>, DefaultCandidate> {
    using type = typename Associator<Handler, DefaultCandidate>::type;
    static type get(const tapstack::ip::detail::accept_adapter<Handler, Result>& a) noexcept {
        return Associator<Handler, DefaultCandidate>::get(a.handler);
    }
    static auto get(const tapstack::ip::detail::accept_adapter<Handler, Result>& a, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(a.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(a.handler, c);
    }
};
