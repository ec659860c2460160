#include "run_queue.hpp"

namespace tapstack::tap::detail {

run_queue::~run_queue() {
    // As an io_context goes: the services first (the sockets' service destroys the handlers of
    // pending operations), then whatever is still queued, destroyed unrun -- destroying one may
    // queue more.
    shutdown();
    destroy_queued();
    destroy();
    for (void* b : free_blocks_) ::operator delete(b);
}

std::size_t run_queue::run() {
    if (head_ == nullptr) return 0;
    const thread_call_stack::context ctx{this, thread_info_};
    ++running_;
    struct leave {
        int& depth;
        ~leave() { --depth; }
    } on_exit{running_};
    std::size_t n = 0;
    while (node* f = pop()) {
        f->complete(*this, f, true);
        ++n;
    }
    return n;
}

void* run_queue::allocate(std::size_t size) {
    if (size > block_size) return ::operator new(size);
    if (free_blocks_.empty()) return ::operator new(block_size);
    void* p = free_blocks_.back();
    free_blocks_.pop_back();
    return p;
}

void run_queue::deallocate(void* p, std::size_t size) noexcept {
    if (size > block_size) return ::operator delete(p);
    try {
        free_blocks_.push_back(p);
    } catch (...) { ::operator delete(p); }
}

void run_queue::push(node* n) noexcept {
    n->next = nullptr;
    if (tail_ != nullptr)
        tail_->next = n;
    else
        head_ = n;
    tail_ = n;
}

run_queue::node* run_queue::pop() noexcept {
    node* n = head_;
    if (n == nullptr) return nullptr;
    head_ = n->next;
    if (head_ == nullptr) tail_ = nullptr;
    return n;
}

void run_queue::destroy_queued() noexcept {
    while (node* f = pop()) f->complete(*this, f, false);
}

}  // namespace tapstack::tap::detail
