#pragma once
// The execution context the replayed services run on (private to the replay engine): one
// thread, no reactor, nothing but posted functions, run when the replay says so. It does what
// the services' io_context did for the replay -- first in, first out; a function that may block
// runs inline when executed from inside run(), as an io_context runs it inside its own thread --
// without what the replay paid for per instant: io_context::poll() builds and drops its thread
// state each call, so nothing Asio recycles outlived an instant, and it was called at every
// instant whether or not anything was ready. Here ready() says whether run() has work, queued
// functions live in blocks recycled for the whole replay, and Asio's own recycling (coroutine
// frames, its handler memory) keeps one thread state for the whole replay too.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detail/thread_info_base.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>

namespace tapstack::tap::detail {

class run_queue final : public boost::asio::execution_context, private boost::asio::detail::thread_context {
public:
    class executor_type;

    run_queue() = default;
    run_queue(const run_queue&) = delete;
    run_queue& operator=(const run_queue&) = delete;
    ~run_queue();

    executor_type get_executor() noexcept;
    /// Whether run() would run anything.
    bool ready() const noexcept { return head_ != nullptr; }
    /// Runs every queued function, and those they queue, until none is left; returns how many ran.
    std::size_t run();

private:
    struct node {
        node* next = nullptr;
        // Runs (invoke) or only destroys the function, after giving its block back.
        void (*complete)(run_queue& q, node* n, bool invoke) = nullptr;
    };
    template <class F>
    struct function_node final : node {
        explicit function_node(F&& fn) : f{std::move(fn)} {}
        F f;
    };
    static constexpr std::size_t block_size = 256;

    template <class F>
    void execute(F&& f, bool blocking_never);
    template <class F>
    static void complete(run_queue& q, node* n, bool invoke);
    void* allocate(std::size_t size);
    void deallocate(void* p, std::size_t size) noexcept;
    void push(node* n) noexcept;
    node* pop() noexcept;
    void destroy_queued() noexcept;

    node* head_ = nullptr;
    node* tail_ = nullptr;
    int running_ = 0;  // run() depth: a possibly-blocking execute from inside runs inline
    std::vector<void*> free_blocks_;
    // Asio's per-thread state (its recycled memory), current while run() runs.
    boost::asio::detail::thread_info_base thread_info_;
};

class run_queue::executor_type {
public:
    executor_type(run_queue& q, bool blocking_never) noexcept : q_{&q}, never_{blocking_never} {}

    run_queue& query(boost::asio::execution::context_t) const noexcept { return *q_; }
    boost::asio::execution::blocking_t query(boost::asio::execution::blocking_t) const noexcept {
        return never_ ? boost::asio::execution::blocking_t{boost::asio::execution::blocking.never}
                      : boost::asio::execution::blocking_t{boost::asio::execution::blocking.possibly};
    }
    executor_type require(boost::asio::execution::blocking_t::never_t) const noexcept { return {*q_, true}; }
    executor_type require(boost::asio::execution::blocking_t::possibly_t) const noexcept { return {*q_, false}; }

    template <class F>
    void execute(F&& f) const {
        q_->execute(std::forward<F>(f), never_);
    }

    friend bool operator==(const executor_type& a, const executor_type& b) noexcept {
        return a.q_ == b.q_ && a.never_ == b.never_;
    }
    friend bool operator!=(const executor_type& a, const executor_type& b) noexcept { return !(a == b); }

private:
    run_queue* q_;
    bool never_;
};

inline run_queue::executor_type run_queue::get_executor() noexcept { return {*this, false}; }

template <class F>
void run_queue::execute(F&& f, bool blocking_never) {
    using fn = std::decay_t<F>;
    if (!blocking_never && running_ > 0) {
        fn tmp{std::forward<F>(f)};
        std::move(tmp)();
        return;
    }
    void* p = allocate(sizeof(function_node<fn>));
    auto* n = new (p) function_node<fn>{fn{std::forward<F>(f)}};
    n->complete = &complete<fn>;
    push(n);
}

template <class F>
void run_queue::complete(run_queue& q, node* n, bool invoke) {
    // As Asio does: the function leaves its block before it runs, so that what it queues can
    // reuse the block.
    auto* fnode = static_cast<function_node<F>*>(n);
    F f{std::move(fnode->f)};
    fnode->~function_node<F>();
    q.deallocate(fnode, sizeof(function_node<F>));
    if (invoke) std::move(f)();
}

}  // namespace tapstack::tap::detail
