// The non-template half of tapstack::ip::tcp::socket / acceptor and udp::socket.
#include <tapstack/ip/socket_impl.hpp>

#include <algorithm>
#include <utility>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <tapstack/ip/error.hpp>

namespace tapstack::ip::detail {
namespace ae = boost::asio::error;

namespace {
template <class Queue>
auto take_by_id(Queue& q, std::uint64_t id) -> std::optional<typename Queue::value_type> {
    auto it = std::find_if(q.begin(), q.end(), [&](const auto& p) { return p.id == id; });
    if (it == q.end()) return std::nullopt;
    auto v = std::move(*it);
    q.erase(it);
    return v;
}
}  // namespace

// ---------------------------------------------------------------- service

boost::asio::execution_context::id socket_service::id;

socket_service::socket_service(boost::asio::execution_context& owner)
    : boost::asio::execution_context::service{owner} {}

socket_service::~socket_service() {
    // Empty after shutdown(), which every execution_context runs before destroying services;
    // unlinked anyway, so that a stray impl never reaches back into a deleted service.
    std::lock_guard lock{mutex_};
    while (!impls_.empty()) {
        impls_.front().service_ = nullptr;
        impls_.pop_front();
    }
}

void socket_service::add(socket_impl_base& impl) {
    std::lock_guard lock{mutex_};
    if (shut_down_) {
        // Made by a handler being destroyed at shutdown: there is no loop left to serve it.
        impl.orphan();
        return;
    }
    impls_.push_back(impl);
    impl.service_ = this;
}

void socket_service::remove(socket_impl_base& impl) noexcept {
    std::lock_guard lock{mutex_};
    if (impl.service_hook_.is_linked()) impls_.erase(impls_.iterator_to(impl));
    impl.service_ = nullptr;
}

void socket_service::shutdown() {
    // Two passes, as Asio's services do: first take every impl off the list (and keep it alive
    // for the second pass), then destroy the handlers with the lock released -- a destroyed
    // handler may destroy sessions, sockets and so impls, which unregister here.
    std::vector<std::shared_ptr<socket_impl_base>> live;
    {
        std::lock_guard lock{mutex_};
        shut_down_ = true;
        while (!impls_.empty()) {
            socket_impl_base& impl = impls_.front();
            impls_.pop_front();
            impl.service_ = nullptr;
            impl.orphan();
            // Empty only while its last owner is inside its destructor (another thread's).
            if (auto p = impl.weak_from_this().lock()) live.push_back(std::move(p));
        }
    }
    for (auto& impl : live) impl->destroy_pending();
    // The impls whose only owners were the sessions just destroyed die here.
    live.clear();
}

void socket_service::context_destroyed(const boost::asio::any_io_executor& ex, const tap::stack_context& ctx) noexcept {
    auto& owner = boost::asio::query(ex, boost::asio::execution::context);
    if (!boost::asio::has_service<socket_service>(owner)) return;  // no socket was ever made
    boost::asio::use_service<socket_service>(owner).orphan_context(ctx);
}

void socket_service::orphan_context(const tap::stack_context& ctx) noexcept {
    std::lock_guard lock{mutex_};
    for (auto& impl : impls_)
        if (impl.ctx_ == &ctx) impl.orphan();
}

// ---------------------------------------------------------------- base

socket_impl_base::socket_impl_base(tap::stack_context& ctx, boost::asio::any_io_executor ex)
    : ctx_{&ctx}, ex_{std::move(ex)} {
    // The service of the context the completions are posted to and whose outstanding work the
    // pending operations hold: that context's shutdown is what must destroy them.
    boost::asio::use_service<socket_service>(boost::asio::query(ex_, boost::asio::execution::context)).add(*this);
}

socket_impl_base::~socket_impl_base() {
    if (service_ != nullptr) service_->remove(*this);
}

void socket_impl_base::orphan() noexcept {
    // The core's socket is not closed: its stack is being destroyed, or (at shutdown) will never
    // be polled again. Only our view of it goes, so that nothing calls into the stack later.
    ctx_ = nullptr;
    handle_ = {};
}

void socket_impl_base::on_socket_event(socket_handle, std::uint8_t) {
    // Called from the core's event flush at the end of its outermost call, where calling back
    // into the core is allowed (flush_events delivers until quiet and is never re-entered).
    // Retrying the pending operations here rather than from a posted job saves a trip through
    // the io_context -- an epoll_wait on the echo path -- per event. Completions are still
    // posted (post_completion), so no handler ever runs inside a core call.
    run_process();
}

void socket_impl_base::run_process() {
    // process() calls into the core, whose event flush may report on this very socket: that
    // nested report must not run process() inside process() (it would complete the operation at
    // the front of a queue the outer call is still working on). It is noted, and the outer call
    // goes round again; a few rounds at most, then the rest waits for a posted retry.
    if (processing_) {
        process_again_ = true;
        return;
    }
    processing_ = true;
    int rounds = 0;
    do {
        process_again_ = false;
        process();
    } while (process_again_ && ++rounds < 4);
    processing_ = false;
    if (process_again_) schedule();
}

void socket_impl_base::start_or_schedule(std::size_t queued) {
    // Speculative, as Asio's reactive sockets are: an operation with nothing queued ahead of it
    // is tried at once, from the initiating function, and only its completion is posted. The
    // echo's reply leaves now rather than one io_context turn (one epoll_wait) later.
    if (queued == 1)
        run_process();
    else
        schedule();
}

void socket_impl_base::schedule() {
    if (scheduled_ || ctx_ == nullptr) return;
    scheduled_ = true;
    boost::asio::post(ctx_->get_executor(), [self = shared_from_this()] {
        self->scheduled_ = false;
        self->run_process();
    });
}

// ---------------------------------------------------------------- TCP

tcp_socket_impl::~tcp_socket_impl() {
    // The owning socket closes us; posted jobs that outlive it only hold a closed impl. The one
    // impl that can die open is an accepted connection whose completion was destroyed unrun
    // (io_context shut down): the stack context may be gone by then, so it is not touched.
}

void tcp_socket_impl::destroy_pending() {
    // Moved out, then destroyed at the end of this scope, without being invoked.
    auto connect = std::exchange(connect_, std::nullopt);
    std::deque<pending<read_op>> reads;
    reads.swap(reads_);
    std::deque<pending<write_op>> writes;
    writes.swap(writes_);
    std::deque<pending<accept_op>> accepts;
    accepts.swap(accepts_);
}

error_code tcp_socket_impl::open() {
    if (is_open()) return ae::already_open;
    if (ctx_ == nullptr) return ae::bad_descriptor;  // the stack context is gone
    auto h = ctx_->stack().tcp_open();
    if (!h) return to_error_code(h.error());
    handle_ = *h;
    ctx_->stack().set_waiter(handle_, this);
    if (reuse_address_) ctx_->stack().tcp_set_reuse_address(handle_, true);
    if (send_buffer_ != 0) ctx_->stack().tcp_set_send_buffer_size(handle_, send_buffer_);
    if (receive_buffer_ != 0) ctx_->stack().tcp_set_receive_buffer_size(handle_, receive_buffer_);
    return {};
}

void tcp_socket_impl::adopt(socket_handle h) {
    handle_ = h;
    ctx_->stack().set_waiter(handle_, this);
}

error_code tcp_socket_impl::bind(const endpoint& local) {
    if (!is_open()) return ae::bad_descriptor;
    return to_error_code(ctx_->stack().tcp_bind(handle_, local));
}

error_code tcp_socket_impl::listen(std::uint32_t backlog) {
    if (!is_open()) return ae::bad_descriptor;
    const auto e = ctx_->stack().tcp_listen(handle_, backlog);
    if (e == errc::success) listening_ = true;
    return to_error_code(e);
}

void tcp_socket_impl::abort_all(error_code ec) {
    if (connect_) {
        post_completion(ex_, std::move(connect_->op.handler), ec);
        connect_.reset();
    }
    for (auto& r : reads_) post_completion(ex_, std::move(r.op.handler), ec, std::size_t{0});
    reads_.clear();
    for (auto& w : writes_) post_completion(ex_, std::move(w.op.handler), ec, std::size_t{0});
    writes_.clear();
    for (auto& a : accepts_) post_completion(ex_, std::move(a.op.handler), ec, std::shared_ptr<tcp_socket_impl>{});
    accepts_.clear();
}

void tcp_socket_impl::close() {
    abort_all(ae::operation_aborted);
    if (!is_open()) return;
    ctx_->stack().set_waiter(handle_, nullptr);
    ctx_->stack().tcp_close(handle_, ctx_->now());
    handle_ = {};
    listening_ = false;
    ctx_->kick();
}

void tcp_socket_impl::abort() {
    abort_all(ae::operation_aborted);
    if (!is_open()) return;
    ctx_->stack().set_waiter(handle_, nullptr);
    ctx_->stack().tcp_abort(handle_, ctx_->now());
    handle_ = {};
    listening_ = false;
    ctx_->kick();
}

void tcp_socket_impl::cancel() { abort_all(ae::operation_aborted); }

error_code tcp_socket_impl::shutdown_send() {
    if (!is_open()) return ae::bad_descriptor;
    const auto e = ctx_->stack().tcp_shutdown_send(handle_, ctx_->now());
    ctx_->kick();
    return to_error_code(e);
}

void tcp_socket_impl::start_connect(const endpoint& peer, error_handler h) {
    const auto id = next_id_++;
    error_code ec;
    if (!is_open()) ec = open();
    if (!ec && connect_) ec = ae::already_started;
    if (!ec) {
        ec = to_error_code(ctx_->stack().tcp_connect(handle_, peer, ctx_->now()));
        ctx_->kick();
    }
    if (ec) return post_completion(ex_, std::move(h), ec);
    hook_cancellation(h, op_kind::connect, id);
    connect_.emplace(pending<connect_op>{id, connect_op{std::move(h)},
                                         boost::asio::prefer(ex_, boost::asio::execution::outstanding_work.tracked)});
    schedule();
}

void tcp_socket_impl::start_read(const mutable_buffer_list& b, io_handler h) {
    // A zero-byte read completes at once (posted), as Asio's does.
    if (b.total == 0) return post_completion(ex_, std::move(h), error_code{}, std::size_t{0});
    if (!is_open()) return post_completion(ex_, std::move(h), error_code{ae::bad_descriptor}, std::size_t{0});
    const auto id = next_id_++;
    hook_cancellation(h, op_kind::read, id);
    reads_.push_back(
        {id, read_op{b, std::move(h)}, boost::asio::prefer(ex_, boost::asio::execution::outstanding_work.tracked)});
    start_or_schedule(reads_.size());
}

void tcp_socket_impl::start_write(const const_buffer_list& b, io_handler h) {
    if (b.total == 0) return post_completion(ex_, std::move(h), error_code{}, std::size_t{0});
    if (!is_open()) return post_completion(ex_, std::move(h), error_code{ae::bad_descriptor}, std::size_t{0});
    const auto id = next_id_++;
    hook_cancellation(h, op_kind::write, id);
    writes_.push_back(
        {id, write_op{b, std::move(h)}, boost::asio::prefer(ex_, boost::asio::execution::outstanding_work.tracked)});
    start_or_schedule(writes_.size());
}

void tcp_socket_impl::start_accept(accept_handler h) {
    if (!is_open())
        return post_completion(ex_, std::move(h), error_code{ae::bad_descriptor}, std::shared_ptr<tcp_socket_impl>{});
    if (!listening_)
        return post_completion(ex_, std::move(h), error_code{ae::invalid_argument}, std::shared_ptr<tcp_socket_impl>{});
    const auto id = next_id_++;
    hook_cancellation(h, op_kind::accept, id);
    accepts_.push_back(
        {id, accept_op{std::move(h)}, boost::asio::prefer(ex_, boost::asio::execution::outstanding_work.tracked)});
    start_or_schedule(accepts_.size());
}

void tcp_socket_impl::cancel_op(op_kind kind, std::uint64_t id) {
    const error_code ec = ae::operation_aborted;
    switch (kind) {
    case op_kind::connect:
        if (connect_ && connect_->id == id) {
            // Like closing a socket with a connect in flight: the attempt is abandoned.
            post_completion(ex_, std::move(connect_->op.handler), ec);
            connect_.reset();
        }
        break;
    case op_kind::read:
        if (auto p = take_by_id(reads_, id)) post_completion(ex_, std::move(p->op.handler), ec, std::size_t{0});
        break;
    case op_kind::write:
        if (auto p = take_by_id(writes_, id)) post_completion(ex_, std::move(p->op.handler), ec, std::size_t{0});
        break;
    case op_kind::accept:
        if (auto p = take_by_id(accepts_, id))
            post_completion(ex_, std::move(p->op.handler), ec, std::shared_ptr<tcp_socket_impl>{});
        break;
    }
}

bool tcp_socket_impl::perform_read(const mutable_buffer_list& b, error_code& ec, std::size_t& n) {
    auto& st = ctx_->stack();
    std::size_t total = 0;
    for (std::size_t i = 0; i < b.count; ++i) {
        auto r = st.tcp_receive(handle_, b.bufs[i], ctx_->now());
        if (!r) {
            if (total > 0) break;
            if (r.error() == errc::would_block) return false;
            ec = to_error_code(r.error());
            n = 0;
            return true;
        }
        if (*r == 0) {  // FIN, every byte before it read
            if (total > 0) break;
            ec = ae::eof;
            n = 0;
            return true;
        }
        total += *r;
        if (*r < b.bufs[i].size()) break;
    }
    ec = {};
    n = total;
    return true;
}

bool tcp_socket_impl::perform_write(const const_buffer_list& b, error_code& ec, std::size_t& n) {
    // The whole buffer sequence in one call (a gather send): a header and a body written
    // together leave together, and Nagle does not hold the second piece.
    auto r = ctx_->stack().tcp_send(handle_, std::span<const bytes>{b.bufs.data(), b.count}, ctx_->now());
    if (!r) {
        if (r.error() == errc::would_block) return false;  // writable later (space, or memory)
        ec = to_error_code(r.error());
        n = 0;
        return true;
    }
    ec = {};
    n = *r;
    return true;
}

std::size_t tcp_socket_impl::try_read(const mutable_buffer_list& b, error_code& ec) {
    if (!is_open()) {
        ec = ae::bad_descriptor;
        return 0;
    }
    if (b.total == 0) {
        ec = {};
        return 0;
    }
    std::size_t n = 0;
    if (!perform_read(b, ec, n)) ec = ae::would_block;
    ctx_->kick();
    return n;
}

std::size_t tcp_socket_impl::try_write(const const_buffer_list& b, error_code& ec) {
    if (!is_open()) {
        ec = ae::bad_descriptor;
        return 0;
    }
    if (b.total == 0) {
        ec = {};
        return 0;
    }
    std::size_t n = 0;
    if (!perform_write(b, ec, n)) ec = ae::would_block;
    ctx_->kick();
    return n;
}

void tcp_socket_impl::apply_options_after_connect() {
    if (keep_alive_) ctx_->stack().tcp_set_keep_alive(handle_, true, ctx_->now());
}

void tcp_socket_impl::process() {
    if (!is_open()) return;
    auto& st = ctx_->stack();
    bool called = false;

    if (connect_) {
        auto info = st.tcp_info(handle_);
        const errc e = st.tcp_error(handle_);
        std::optional<error_code> outcome;
        if (!info) {
            outcome = to_error_code(info.error());
        } else if (e != errc::success) {
            outcome = to_error_code(e);
        } else if (info->state == tcp::state::syn_sent || info->state == tcp::state::syn_received) {
            // still handshaking
        } else if (info->state == tcp::state::closed) {
            outcome = ae::connection_aborted;
        } else {
            outcome = error_code{};
            apply_options_after_connect();
            called = true;
        }
        if (outcome) {
            post_completion(ex_, std::move(connect_->op.handler), *outcome);
            connect_.reset();
        }
    }

    while (!accepts_.empty()) {
        auto r = st.tcp_accept(handle_, ctx_->now());
        called = true;
        if (!r && r.error() == errc::would_block) break;
        auto p = std::move(accepts_.front());
        accepts_.pop_front();
        if (!r) {
            post_completion(ex_, std::move(p.op.handler), to_error_code(r.error()), std::shared_ptr<tcp_socket_impl>{});
            continue;
        }
        auto child = std::make_shared<tcp_socket_impl>(*ctx_, ex_);
        child->adopt(*r);
        // Accepted connections inherit the listener's options, as on Linux.
        child->no_delay_ = no_delay_;
        child->reuse_address_ = reuse_address_;
        child->send_buffer_ = send_buffer_;  // the core passed them on already
        child->receive_buffer_ = receive_buffer_;
        if (no_delay_) st.tcp_set_no_delay(*r, true);
        child->keep_alive_ = keep_alive_;
        child->apply_options_after_connect();
        post_completion(ex_, std::move(p.op.handler), error_code{}, std::move(child));
    }

    while (!reads_.empty()) {
        error_code ec;
        std::size_t n = 0;
        called = true;
        if (!perform_read(reads_.front().op.buffers, ec, n)) break;
        auto p = std::move(reads_.front());
        reads_.pop_front();
        post_completion(ex_, std::move(p.op.handler), ec, n);
    }

    while (!writes_.empty()) {
        error_code ec;
        std::size_t n = 0;
        called = true;
        if (!perform_write(writes_.front().op.buffers, ec, n)) break;
        auto p = std::move(writes_.front());
        writes_.pop_front();
        post_completion(ex_, std::move(p.op.handler), ec, n);
    }

    if (called) ctx_->kick();
}

endpoint tcp_socket_impl::local_endpoint(error_code& ec) const {
    if (!is_open()) {
        ec = ae::bad_descriptor;
        return {};
    }
    auto info = ctx_->stack().tcp_info(handle_);
    if (!info) {
        ec = to_error_code(info.error());
        return {};
    }
    ec = {};
    return info->local;
}

endpoint tcp_socket_impl::remote_endpoint(error_code& ec) const {
    if (!is_open()) {
        ec = ae::bad_descriptor;
        return {};
    }
    auto info = ctx_->stack().tcp_info(handle_);
    if (!info) {
        ec = to_error_code(info.error());
        return {};
    }
    if (info->state == tcp::state::listen || info->state == tcp::state::closed || info->remote.port == 0) {
        ec = ae::not_connected;
        return {};
    }
    ec = {};
    return info->remote;
}

std::size_t tcp_socket_impl::available(error_code& ec) const {
    if (!is_open()) {
        ec = ae::bad_descriptor;
        return 0;
    }
    auto info = ctx_->stack().tcp_info(handle_);
    if (!info) {
        ec = to_error_code(info.error());
        return 0;
    }
    ec = {};
    return info->state == tcp::state::listen ? 0 : info->recv_q;
}

error_code tcp_socket_impl::set_no_delay(bool on) {
    no_delay_ = on;
    if (!is_open()) return {};
    return to_error_code(ctx_->stack().tcp_set_no_delay(handle_, on));
}

error_code tcp_socket_impl::set_keep_alive(bool on) {
    keep_alive_ = on;
    if (!is_open()) return {};
    const auto e = ctx_->stack().tcp_set_keep_alive(handle_, on, ctx_->now());
    ctx_->kick();
    // Not connected yet: applied when the connection is established.
    return e == errc::not_connected ? error_code{} : to_error_code(e);
}

error_code tcp_socket_impl::set_send_buffer_size(int size) {
    if (size <= 0) return ae::invalid_argument;
    send_buffer_ = static_cast<std::size_t>(size);
    if (!is_open()) return {};
    return to_error_code(ctx_->stack().tcp_set_send_buffer_size(handle_, send_buffer_));
}

error_code tcp_socket_impl::set_receive_buffer_size(int size) {
    if (size <= 0) return ae::invalid_argument;
    receive_buffer_ = static_cast<std::size_t>(size);
    if (!is_open()) return {};
    return to_error_code(ctx_->stack().tcp_set_receive_buffer_size(handle_, receive_buffer_));
}

int tcp_socket_impl::send_buffer_size() const {
    if (send_buffer_ != 0) return static_cast<int>(send_buffer_);
    if (ctx_ == nullptr) return 0;
    if (is_open())
        if (auto r = ctx_->stack().tcp_send_buffer_size(handle_)) return static_cast<int>(*r);
    return static_cast<int>(ctx_->stack().config().tcp.send_buffer_size);
}

int tcp_socket_impl::receive_buffer_size() const {
    if (receive_buffer_ != 0) return static_cast<int>(receive_buffer_);
    if (ctx_ == nullptr) return 0;
    if (is_open())
        if (auto r = ctx_->stack().tcp_receive_buffer_size(handle_)) return static_cast<int>(*r);
    return static_cast<int>(ctx_->stack().config().tcp.receive_buffer_size);
}

error_code tcp_socket_impl::set_reuse_address(bool on) {
    reuse_address_ = on;
    if (!is_open()) return {};
    return to_error_code(ctx_->stack().tcp_set_reuse_address(handle_, on));
}

// ---------------------------------------------------------------- UDP

udp_socket_impl::~udp_socket_impl() = default;

void udp_socket_impl::destroy_pending() {
    std::deque<pending<receive_op>> receives;
    receives.swap(receives_);
}

error_code udp_socket_impl::open() {
    if (is_open()) return ae::already_open;
    if (ctx_ == nullptr) return ae::bad_descriptor;  // the stack context is gone
    auto h = ctx_->stack().udp_open();
    if (!h) return to_error_code(h.error());
    handle_ = *h;
    ctx_->stack().set_waiter(handle_, this);
    return {};
}

error_code udp_socket_impl::bind(const endpoint& local) {
    if (!is_open()) return ae::bad_descriptor;
    return to_error_code(ctx_->stack().udp_bind(handle_, local));
}

void udp_socket_impl::abort_all(error_code ec) {
    for (auto& r : receives_) post_completion(ex_, std::move(r.op.handler), ec, std::size_t{0});
    receives_.clear();
}

void udp_socket_impl::close() {
    abort_all(ae::operation_aborted);
    if (!is_open()) return;
    ctx_->stack().set_waiter(handle_, nullptr);
    ctx_->stack().udp_close(handle_);
    handle_ = {};
}

void udp_socket_impl::cancel() { abort_all(ae::operation_aborted); }

endpoint udp_socket_impl::local_endpoint(error_code& ec) const {
    if (!is_open()) {
        ec = ae::bad_descriptor;
        return {};
    }
    auto r = ctx_->stack().udp_local_endpoint(handle_);
    if (!r) {
        ec = to_error_code(r.error());
        return {};
    }
    ec = {};
    return *r;
}

std::size_t udp_socket_impl::try_send_to(const const_buffer_list& b, const endpoint& to, error_code& ec) {
    if (!is_open()) {
        ec = ae::bad_descriptor;
        return 0;
    }
    bytes payload;
    if (b.count == 1) {
        payload = b.bufs[0];
    } else if (b.count > 1) {
        gather_.resize(b.total);  // grows once to the largest datagram sent, then stays
        std::size_t off = 0;
        for (std::size_t i = 0; i < b.count; ++i) {
            copy_bytes(gather_, off, b.bufs[i]);
            off += b.bufs[i].size();
        }
        payload = bytes{gather_.data(), b.total};
    }
    auto r = ctx_->stack().udp_send_to(handle_, payload, to, ctx_->now());
    ctx_->kick();
    if (!r) {
        ec = to_error_code(r.error());
        return 0;
    }
    ec = {};
    return *r;
}

void udp_socket_impl::start_send_to(const const_buffer_list& b, const endpoint& to, io_handler h) {
    error_code ec;
    const std::size_t n = try_send_to(b, to, ec);
    post_completion(ex_, std::move(h), ec, n);
}

bool udp_socket_impl::perform_receive(const mutable_buffer_list& b, endpoint* from, error_code& ec, std::size_t& n) {
    // A datagram is copied into the first buffer of the sequence; a larger one is truncated
    // (the rest is dropped, as recvmsg without MSG_TRUNC would).
    mutable_bytes out = b.count > 0 ? b.bufs[0] : mutable_bytes{};
    auto r = ctx_->stack().udp_receive_from(handle_, out);
    if (!r) {
        if (r.error() == errc::would_block) return false;
        ec = to_error_code(r.error());
        n = 0;
        return true;
    }
    if (from) *from = r->from;
    ec = {};
    n = r->size;
    return true;
}

std::size_t udp_socket_impl::try_receive_from(const mutable_buffer_list& b, endpoint* from, error_code& ec) {
    if (!is_open()) {
        ec = ae::bad_descriptor;
        return 0;
    }
    std::size_t n = 0;
    if (!perform_receive(b, from, ec, n)) ec = ae::would_block;
    return n;
}

void udp_socket_impl::start_receive_from(const mutable_buffer_list& b, endpoint* from, io_handler h) {
    if (!is_open()) return post_completion(ex_, std::move(h), error_code{ae::bad_descriptor}, std::size_t{0});
    const auto id = next_id_++;
    hook_cancellation(h, op_kind::read, id);
    receives_.push_back({id, receive_op{b, from, std::move(h)},
                         boost::asio::prefer(ex_, boost::asio::execution::outstanding_work.tracked)});
    schedule();
}

void udp_socket_impl::cancel_op(op_kind kind, std::uint64_t id) {
    if (kind != op_kind::read) return;
    if (auto p = take_by_id(receives_, id))
        post_completion(ex_, std::move(p->op.handler), error_code{ae::operation_aborted}, std::size_t{0});
}

void udp_socket_impl::process() {
    if (!is_open()) return;
    while (!receives_.empty()) {
        error_code ec;
        std::size_t n = 0;
        auto& front = receives_.front();
        if (!perform_receive(front.op.buffers, front.op.from, ec, n)) break;
        auto p = std::move(receives_.front());
        receives_.pop_front();
        post_completion(ex_, std::move(p.op.handler), ec, n);
    }
}

}  // namespace tapstack::ip::detail
