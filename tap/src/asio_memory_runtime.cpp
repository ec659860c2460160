#include <tapstack/tap/memory_runtime.hpp>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <tapstack/ip/socket_impl.hpp>

namespace tapstack::tap {

stack_config memory_runtime_config::default_a() {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0x54, 0x41, 0x50, 0x00, 0x0a}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, 1}, 24};
    c.seed = 0xa;
    return c;
}

stack_config memory_runtime_config::default_b() {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0x54, 0x41, 0x50, 0x00, 0x0b}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, 2}, 24};
    c.seed = 0xb;
    return c;
}

memory_runtime::memory_runtime(boost::asio::any_io_executor ex, const memory_runtime_config& cfg)
    : cfg_{cfg},
      ex_{std::move(ex)},
      start_{std::chrono::steady_clock::now()},
      link_{cfg.link},
      a_{*this, cfg_.a, link_.side_a()},
      b_{*this, cfg_.b, link_.side_b()},
      timer_{ex_},
      alive_{std::make_shared<memory_runtime*>(this)} {
    link_.attach(a_.stack(), b_.stack());
}

memory_runtime::~memory_runtime() {
    // Sockets over our stacks may outlive us: sessions kept by their own pending handlers until
    // the io_context shuts down and destroys those. Destroyed then, they must not call into
    // the stacks that die with us.
    ip::detail::socket_service::context_destroyed(ex_, a_);
    ip::detail::socket_service::context_destroyed(ex_, b_);
    alive_.reset();
    timer_.cancel();
}

instant memory_runtime::now() const noexcept {
    const auto since = std::chrono::steady_clock::now() - start_;
    return instant{std::chrono::duration_cast<duration>(since)};
}

void memory_runtime::kick() {
    if (scheduled_) return;
    scheduled_ = true;
    boost::asio::post(ex_, [w = std::weak_ptr<memory_runtime*>{alive_}] {
        if (auto p = w.lock()) {
            (*p)->scheduled_ = false;
            (*p)->service();
        }
    });
}

void memory_runtime::service() {
    const instant t = now();
    std::optional<instant> da, db;
    // Deliver until both directions are quiet: a frame delivered may be answered at once.
    // Bounded, so two stacks answering each other forever cannot hang the executor.
    for (int round = 0; round < 1000; ++round) {
        link_.pump(t);
        da = a_.stack().poll(t);
        db = b_.stack().poll(t);
        if (link_.queued_a_to_b() == 0 && link_.queued_b_to_a() == 0) break;
    }
    if (link_.queued_a_to_b() != 0 || link_.queued_b_to_a() != 0) kick();  // storm: yield, go on later
    std::optional<instant> next;
    if (da && db)
        next = std::min(*da, *db);
    else
        next = da ? da : db;
    arm(next);
}

void memory_runtime::arm(std::optional<instant> deadline) {
    if (deadline == armed_) return;
    armed_ = deadline;
    timer_.cancel();
    if (!deadline) return;
    timer_.expires_at(start_ +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline->time_since_epoch()));
    timer_.async_wait(
        [w = std::weak_ptr<memory_runtime*>{alive_}, at = *deadline](const boost::system::error_code& ec) {
            if (ec) return;  // re-armed or destroyed
            auto p = w.lock();
            if (!p) return;
            memory_runtime& rt = **p;
            if (rt.armed_ != at) return;
            rt.armed_.reset();
            rt.service();
        });
}

}  // namespace tapstack::tap
