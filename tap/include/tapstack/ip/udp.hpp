#pragma once
// tapstack::ip::udp: an Asio-style UDP socket over a tapstack::stack (boost::asio::ip::udp's
// counterpart). Threading, completion and cancellation rules are those of tcp.hpp: one thread,
// completions posted to the handler's associated executor, cancel()/close() complete pending
// receives with operation_aborted, and async_receive_from honours per-operation cancellation.
#include <cstddef>
#include <memory>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
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

class udp {
public:
    using endpoint = tapstack::ip::endpoint;
    static constexpr udp v4() noexcept { return udp{family::v4}; }
    static constexpr udp v6() noexcept { return udp{family::v6}; }
    constexpr ip::family family_of() const noexcept { return family_; }
    friend constexpr bool operator==(udp, udp) noexcept = default;

    class socket;

private:
    constexpr explicit udp(ip::family f) noexcept : family_{f} {}
    ip::family family_;
};

class udp::socket : public socket_base {
public:
    using executor_type = boost::asio::any_io_executor;
    using protocol_type = udp;
    using endpoint_type = udp::endpoint;
    using lowest_layer_type = socket;

    explicit socket(tap::stack_context& ctx) : socket{ctx, ctx.get_executor()} {}
    socket(tap::stack_context& ctx, executor_type ex)
        : ctx_{&ctx}, ex_{std::move(ex)}, impl_{std::make_shared<detail::udp_socket_impl>(ctx, ex_)} {}
    /// Opens and binds, as Asio's convenience constructor.
    socket(tap::stack_context& ctx, const endpoint_type& local) : socket{ctx} { bind(local); }
    socket(socket&&) noexcept = default;
    socket& operator=(socket&& o) noexcept {
        if (this != &o) {
            if (impl_) impl_->close();
            ctx_ = o.ctx_;
            ex_ = std::move(o.ex_);
            impl_ = std::move(o.impl_);
        }
        return *this;
    }
    ~socket() {
        if (impl_) impl_->close();
    }

    executor_type get_executor() const noexcept { return ex_; }
    lowest_layer_type& lowest_layer() noexcept { return *this; }
    bool is_open() const noexcept { return impl_ && impl_->is_open(); }

    void open(const udp& p, boost::system::error_code& ec) {
        (void)p;  // either family: the core's sockets are dual-stack
        ec = impl_->open();
    }
    void open(const udp& p = udp::v4()) {
        boost::system::error_code ec;
        open(p, ec);
        boost::asio::detail::throw_error(ec, "open");
    }
    /// Port 0 picks an ephemeral port.
    void bind(const endpoint_type& local, boost::system::error_code& ec) {
        ec = {};
        if (!is_open()) open(udp::v4(), ec);
        if (!ec) ec = impl_->bind(local);
    }
    void bind(const endpoint_type& local) {
        boost::system::error_code ec;
        bind(local, ec);
        boost::asio::detail::throw_error(ec, "bind");
    }
    endpoint_type local_endpoint(boost::system::error_code& ec) const { return impl_->local_endpoint(ec); }
    endpoint_type local_endpoint() const {
        boost::system::error_code ec;
        auto e = local_endpoint(ec);
        boost::asio::detail::throw_error(ec, "local_endpoint");
        return e;
    }
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

    /// Sends one datagram (binding an ephemeral port first if unbound). The buffers are
    /// gathered into one datagram. Completion signature: void(error_code, std::size_t).
    template <class ConstBufferSequence,
              boost::asio::completion_token_for<void(boost::system::error_code, std::size_t)> Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_send_to(const ConstBufferSequence& buffers, const endpoint_type& to, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& b, const endpoint_type& dest) {
                if (!is_open()) {
                    boost::system::error_code ec;
                    open(udp::v4(), ec);
                }
                impl_->start_send_to(detail::to_buffer_list_const(b), dest,
                                     detail::io_handler{std::move(handler), impl_->executor()});
            },
            token, buffers, to);
    }
    /// Receives one datagram into the first non-empty buffer (a longer datagram is
    /// truncated) and stores its source in `sender`, which must stay alive until completion.
    /// Completion signature: void(error_code, std::size_t).
    template <class MutableBufferSequence,
              boost::asio::completion_token_for<void(boost::system::error_code, std::size_t)> Token =
                  boost::asio::default_completion_token_t<executor_type>>
    auto async_receive_from(const MutableBufferSequence& buffers, endpoint_type& sender, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this, &sender](auto handler, const MutableBufferSequence& b) {
                impl_->start_receive_from(detail::to_buffer_list_mutable(b), &sender,
                                          detail::io_handler{std::move(handler), impl_->executor()});
            },
            token, buffers);
    }
    /// Non-blocking twins (the stack runs on this thread): would_block when nothing is queued.
    template <class ConstBufferSequence>
    std::size_t send_to(const ConstBufferSequence& buffers, const endpoint_type& to, boost::system::error_code& ec) {
        ec = {};
        if (!is_open()) open(udp::v4(), ec);
        if (ec) return 0;
        return impl_->try_send_to(detail::to_buffer_list_const(buffers), to, ec);
    }
    template <class MutableBufferSequence>
    std::size_t receive_from(const MutableBufferSequence& buffers, endpoint_type& sender,
                             boost::system::error_code& ec) {
        return impl_->try_receive_from(detail::to_buffer_list_mutable(buffers), &sender, ec);
    }

    socket_handle native_handle() const noexcept { return impl_ ? impl_->handle() : socket_handle{}; }

private:
    tap::stack_context* ctx_;
    executor_type ex_;
    std::shared_ptr<detail::udp_socket_impl> impl_;
};

}  // namespace tapstack::ip
