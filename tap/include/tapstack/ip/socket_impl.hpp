#pragma once
// Implementation detail of tapstack::ip::tcp and tapstack::ip::udp: the non-template part of a
// socket. Each socket owns one impl (shared, so posted work can keep it alive); the impl is the
// socket_waiter registered with the core, keeps the pending operations with their type-erased
// handlers, and retries them when the core reports readiness. Every live impl is registered
// with the socket_service of its executor's execution_context, which destroys the pending
// handlers when that context shuts down, as Asio's own socket services do.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/intrusive/list.hpp>
#include <boost/system/error_code.hpp>
#include <tapstack/base/bytes.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/tap/stack_context.hpp>

namespace tapstack::ip::detail {

using boost::system::error_code;
/// Whether `h` completes on `io_ex` itself (its associated executor, with `io_ex` as the
/// default, is `io_ex`): a callback, a coroutine of that executor, ... but not a strand's handler
/// or use_future's.
template <class Handler>
bool completes_on(const Handler& h, const boost::asio::any_io_executor& io_ex) {
    if constexpr (std::is_same_v<boost::asio::associated_executor_t<Handler, boost::asio::any_io_executor>,
                                 boost::asio::any_io_executor>)
        return boost::asio::get_associated_executor(h, io_ex) == io_ex;
    else
        return false;
}

/// A pending operation's type-erased handler, and whether it completes on the socket's own
/// executor (noted while its type is known: the erased handler can only tell by making an
/// any_completion_executor, a heap allocation). See post_completion.
template <class Signature>
struct completion {
    template <class Handler>
    completion(Handler&& h, const boost::asio::any_io_executor& io_ex)
        : direct{completes_on(h, io_ex)}, handler{std::forward<Handler>(h)} {}

    auto get_cancellation_slot() const noexcept { return handler.get_cancellation_slot(); }

    bool direct;
    boost::asio::any_completion_handler<Signature> handler;
};
using io_handler = completion<void(error_code, std::size_t)>;
using error_handler = completion<void(error_code)>;

/// Like Asio's reactor (which passes at most 64 iovecs to readv), we look at the first
/// max_buffers non-empty buffers of a sequence.
constexpr std::size_t max_buffers = 16;

template <class Span>
struct buffer_list {
    std::array<Span, max_buffers> bufs{};
    std::size_t count = 0;
    std::size_t total = 0;
};
using mutable_buffer_list = buffer_list<mutable_bytes>;
using const_buffer_list = buffer_list<bytes>;

template <class MutableBufferSequence>
mutable_buffer_list to_buffer_list_mutable(const MutableBufferSequence& seq) {
    mutable_buffer_list l;
    const auto end = boost::asio::buffer_sequence_end(seq);
    for (auto it = boost::asio::buffer_sequence_begin(seq); it != end && l.count < max_buffers; ++it) {
        const boost::asio::mutable_buffer b(*it);
        if (b.size() == 0) continue;
        l.bufs[l.count++] = mutable_bytes{static_cast<std::byte*>(b.data()), b.size()};
        l.total += b.size();
    }
    return l;
}

template <class ConstBufferSequence>
const_buffer_list to_buffer_list_const(const ConstBufferSequence& seq) {
    const_buffer_list l;
    const auto end = boost::asio::buffer_sequence_end(seq);
    for (auto it = boost::asio::buffer_sequence_begin(seq); it != end && l.count < max_buffers; ++it) {
        const boost::asio::const_buffer b(*it);
        if (b.size() == 0) continue;
        l.bufs[l.count++] = bytes{static_cast<const std::byte*>(b.data()), b.size()};
        l.total += b.size();
    }
    return l;
}

enum class op_kind : std::uint8_t { connect, read, write, accept };

class tcp_socket_impl;
class socket_service;
using accept_handler = completion<void(error_code, std::shared_ptr<tcp_socket_impl>)>;

/// Shared machinery of TCP and UDP impls: the waiter, and the one posted "retry" job.
class socket_impl_base : public socket_waiter, public std::enable_shared_from_this<socket_impl_base> {
public:
    /// Registers with the socket_service of `ex`'s execution_context.
    socket_impl_base(tap::stack_context& ctx, boost::asio::any_io_executor ex);
    socket_impl_base(const socket_impl_base&) = delete;
    socket_impl_base& operator=(const socket_impl_base&) = delete;
    virtual ~socket_impl_base();

    bool is_open() const noexcept { return handle_.valid(); }
    /// False once the stack context is gone (or the execution_context shut down): the impl then
    /// acts as a closed socket and never touches the context again.
    bool has_context() const noexcept { return ctx_ != nullptr; }
    socket_handle handle() const noexcept { return handle_; }
    /// Only while has_context().
    tap::stack_context& context() const noexcept { return *ctx_; }
    const boost::asio::any_io_executor& executor() const noexcept { return ex_; }

    void on_socket_event(socket_handle h, std::uint8_t events) override;
    /// Cancels one pending operation (per-operation cancellation); no-op if it already completed.
    virtual void cancel_op(op_kind kind, std::uint64_t id) = 0;

protected:
    friend class socket_service;
    /// Destroys every pending operation's handler without invoking it (execution_context
    /// shutdown). Handlers are moved out first: destroying one may destroy the socket owning
    /// this impl, whose close() then finds the queues empty.
    virtual void destroy_pending() = 0;
    /// Forgets the stack context (it is being destroyed, or can no longer run): from now on the
    /// impl is closed, without telling the core -- whose stack is gone or never polled again.
    void orphan() noexcept;

    /// Posts (once) a job that retries the pending operations.
    void schedule();
    /// Retries the pending operations now (process()), never nested for the same socket.
    void run_process();
    /// After queueing an operation: try it now if it is the only one queued, else schedule().
    void start_or_schedule(std::size_t queued);
    virtual void process() = 0;
    /// Hooks the handler's cancellation slot, if connected, to cancel_op(kind, id).
    template <class Handler>
    void hook_cancellation(Handler& h, op_kind kind, std::uint64_t id);

    tap::stack_context* ctx_;
    boost::asio::any_io_executor ex_;
    socket_handle handle_{};
    bool scheduled_ = false;
    bool processing_ = false;  // inside run_process()
    bool process_again_ = false;  // an event arrived meanwhile: go round again
    std::uint64_t next_id_ = 1;

private:
    socket_service* service_ = nullptr;  // null once unregistered (shutdown) or never registered
    boost::intrusive::list_member_hook<> service_hook_;
};

/// The execution_context service keeping every live socket impl of one context (an io_context,
/// usually), as Asio's reactive_socket_service keeps its sockets. A pending operation lives in
/// its socket's queue, not in the io_context's; a handler owning the socket it waits on (the
/// shared_from_this session, a coroutine frame) is a cycle nobody else breaks. Asio's sockets
/// break it when the io_context shuts down (~io_context -> execution_context::shutdown ->
/// service::shutdown destroys pending operations); so does shutdown() here.
///
/// Services shut down newest first, so this one (created with the first socket) goes before the
/// scheduler, which then destroys whatever the destroyed handlers posted.
class socket_service final : public boost::asio::execution_context::service {
public:
    static boost::asio::execution_context::id id;

    explicit socket_service(boost::asio::execution_context& owner);
    ~socket_service() override;
    socket_service(const socket_service&) = delete;
    socket_service& operator=(const socket_service&) = delete;

    /// The stack context `ctx` is being destroyed while sockets over it may live on (sessions
    /// kept by pending handlers until the io_context shuts down): each impl over it that is
    /// registered with the service of `ex`'s execution_context forgets it, so that destroying
    /// the socket later does not call into a dead stack. Pending operations stay pending.
    static void context_destroyed(const boost::asio::any_io_executor& ex, const tap::stack_context& ctx) noexcept;

    void add(socket_impl_base& impl);
    void remove(socket_impl_base& impl) noexcept;

private:
    /// Destroys, without invoking, the handler of every pending operation of every live impl,
    /// and orphans the impls: the stack context may already be gone (apps and tests destroy
    /// the runtime before the io_context), and nothing will poll it again anyway.
    void shutdown() override;
    void orphan_context(const tap::stack_context& ctx) noexcept;

    using hook_option = boost::intrusive::member_hook<socket_impl_base, boost::intrusive::list_member_hook<>,
                                                      &socket_impl_base::service_hook_>;
    using list_type =
        boost::intrusive::list<socket_impl_base, hook_option, boost::intrusive::constant_time_size<false>>;
    std::mutex mutex_;  // sockets of one context may be made on several threads (one per stack)
    list_type impls_;
    bool shut_down_ = false;
};

/// A pending operation keeps outstanding work on the socket's executor, as an Asio socket's
/// reactor operation does: io_context::run() does not return while a read is pending.
template <class Op>
struct pending {
    std::uint64_t id;
    Op op;
    boost::asio::any_io_executor work;
};

class tcp_socket_impl final : public socket_impl_base {
public:
    using socket_impl_base::socket_impl_base;
    ~tcp_socket_impl() override;

    error_code open();
    error_code bind(const endpoint& local);
    error_code listen(std::uint32_t backlog);
    /// Adopts an accepted connection's handle.
    void adopt(socket_handle h);
    /// Closes the handle; pending operations complete with operation_aborted.
    void close();
    /// Pending operations complete with operation_aborted; the socket stays open.
    void cancel();
    error_code shutdown_send();
    /// Closes the socket without the orderly FIN handshake: the peer sees RST (SO_LINGER 0).
    void abort();

    void start_connect(const endpoint& peer, error_handler h);
    void start_read(const mutable_buffer_list& b, io_handler h);
    void start_write(const const_buffer_list& b, io_handler h);
    void start_accept(accept_handler h);

    /// Non-blocking attempts (sync read_some/write_some): would_block when nothing can be done.
    std::size_t try_read(const mutable_buffer_list& b, error_code& ec);
    std::size_t try_write(const const_buffer_list& b, error_code& ec);

    endpoint local_endpoint(error_code& ec) const;
    endpoint remote_endpoint(error_code& ec) const;
    std::size_t available(error_code& ec) const;

    error_code set_no_delay(bool on);
    error_code set_keep_alive(bool on);
    error_code set_reuse_address(bool on);
    /// SO_SNDBUF / SO_RCVBUF (socket_base::send_buffer_size / receive_buffer_size): fixed sizes,
    /// remembered until open, inherited by accepted sockets.
    error_code set_send_buffer_size(int size);
    error_code set_receive_buffer_size(int size);
    int send_buffer_size() const;
    int receive_buffer_size() const;
    bool no_delay() const noexcept { return no_delay_; }
    bool keep_alive() const noexcept { return keep_alive_; }
    bool reuse_address() const noexcept { return reuse_address_; }

    void cancel_op(op_kind kind, std::uint64_t id) override;

private:
    struct connect_op {
        error_handler handler;
    };
    struct read_op {
        mutable_buffer_list buffers;
        io_handler handler;
    };
    struct write_op {
        const_buffer_list buffers;
        io_handler handler;
    };
    struct accept_op {
        accept_handler handler;
    };

    void process() override;
    void destroy_pending() override;
    void abort_all(error_code ec);
    void apply_options_after_connect();
    /// Finished (true) or still waiting (false, n untouched).
    bool perform_read(const mutable_buffer_list& b, error_code& ec, std::size_t& n);
    bool perform_write(const const_buffer_list& b, error_code& ec, std::size_t& n);

    std::optional<pending<connect_op>> connect_;
    std::deque<pending<read_op>> reads_;
    std::deque<pending<write_op>> writes_;
    std::deque<pending<accept_op>> accepts_;
    bool no_delay_ = false;
    bool keep_alive_ = false;
    bool reuse_address_ = false;
    std::size_t send_buffer_ = 0, receive_buffer_ = 0;  // 0: the stack's, autotuned
    bool listening_ = false;
};

class udp_socket_impl final : public socket_impl_base {
public:
    using socket_impl_base::socket_impl_base;
    ~udp_socket_impl() override;

    error_code open();
    error_code bind(const endpoint& local);
    void close();
    void cancel();
    endpoint local_endpoint(error_code& ec) const;

    /// Sends now; the completion is posted.
    void start_send_to(const const_buffer_list& b, const endpoint& to, io_handler h);
    void start_receive_from(const mutable_buffer_list& b, endpoint* from, io_handler h);
    std::size_t try_send_to(const const_buffer_list& b, const endpoint& to, error_code& ec);
    std::size_t try_receive_from(const mutable_buffer_list& b, endpoint* from, error_code& ec);

    void cancel_op(op_kind kind, std::uint64_t id) override;

private:
    struct receive_op {
        mutable_buffer_list buffers;
        endpoint* from;
        io_handler handler;
    };
    void process() override;
    void destroy_pending() override;
    void abort_all(error_code ec);
    bool perform_receive(const mutable_buffer_list& b, endpoint* from, error_code& ec, std::size_t& n);

    std::deque<pending<receive_op>> receives_;
    std::vector<std::byte> gather_;  // multi-buffer sends are gathered here (sized once)
};

/// Posts `h(args...)` to the handler's associated executor (default: the socket's), after
/// disconnecting its cancellation slot. Never calls the handler inline.
template <class Signature, class... Args>
void post_completion(const boost::asio::any_io_executor& io_ex, completion<Signature> c, Args... args);

}  // namespace tapstack::ip::detail

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

namespace tapstack::ip::detail {

template <class Signature, class... Args>
void post_completion(const boost::asio::any_io_executor& io_ex, completion<Signature> c, Args... args) {
    auto h = std::move(c.handler);
    auto slot = h.get_cancellation_slot();
    if (slot.is_connected()) slot.clear();
    if (c.direct) {
        // The handler's executor is io_ex: dispatching to it from the job posted there would
        // invoke it at once (the job runs on io_ex's own thread), so the job invokes it itself.
        boost::asio::post(io_ex,
                          [h = std::move(h), ... a = std::move(args)]() mutable { std::move(h)(std::move(a)...); });
        return;
    }
    // Queued on the socket's executor (so never inline), then dispatched to the handler's own
    // associated executor (a strand, the system executor of use_future, ...), as Asio does.
    auto ex = boost::asio::get_associated_executor(h, io_ex);
    boost::asio::post(io_ex,
                      boost::asio::bind_executor(std::move(ex), [h = std::move(h), ... a = std::move(args)]() mutable {
                          std::move(h)(std::move(a)...);
                      }));
}

template <class Handler>
void socket_impl_base::hook_cancellation(Handler& h, op_kind kind, std::uint64_t id) {
    auto slot = h.get_cancellation_slot();
    if (!slot.is_connected()) return;
    struct canceller {
        std::weak_ptr<socket_impl_base> self;
        op_kind kind;
        std::uint64_t id;
        void operator()(boost::asio::cancellation_type_t type) const {
            // We cannot undo partial work, so every cancellation type (terminal, partial,
            // total) is honoured only while nothing was transferred: that is always the case
            // for a pending operation here.
            if ((type & boost::asio::cancellation_type::all) == boost::asio::cancellation_type::none) return;
            if (auto s = self.lock()) s->cancel_op(kind, id);
        }
    };
    slot.template emplace<canceller>(canceller{weak_from_this(), kind, id});
}

}  // namespace tapstack::ip::detail
