#include "tcp_factory.hpp"

namespace tapstack::testing {

using tcp::state;

tcp::config tcp_options::config(tcp::config base) const {
    base.mss = mss;
    base.window_scaling = window_scaling;
    base.timestamps = timestamps;
    base.sack = sack;
    base.send_buffer_size = send_buffer;
    base.receive_buffer_size = receive_buffer;
    return base;
}

std::vector<std::byte> pattern(std::size_t n, std::uint32_t salt) {
    std::vector<std::byte> v(n);
    std::uint32_t x = salt * 2654435761u + 1;
    for (auto& b : v) {
        x = x * 1103515245u + 12345u;
        b = std::byte(x >> 24);
    }
    return v;
}

namespace {

::testing::AssertionResult reached(tcp_pair& p, side who, state target, const std::function<bool()>& pred) {
    if (p.run_until(pred)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << (who == side::a ? "a" : "b") << " did not reach " << tcp::to_string(target)
                                         << ": a is " << tcp::to_string(p.a().conn.current_state()) << ", b is "
                                         << tcp::to_string(p.b().conn.current_state());
}

}  // namespace

::testing::AssertionResult establish(tcp_pair& p, tcp::seq_number iss_a, tcp::seq_number iss_b) {
    p.connect(iss_a, iss_b);
    return reached(p, side::a, state::established,
                   [&] { return is(p.a(), state::established) && is(p.b(), state::established); });
}

::testing::AssertionResult drive_to(tcp_pair& p, side who, state target) {
    tcp_endpoint& us = endpoint(p, who);
    tcp_endpoint& them = other(p, who);
    const auto until = [&](state s) { return reached(p, who, s, [&] { return is(us, s); }); };
    switch (target) {
    case state::syn_sent:
        if (who != side::a) return ::testing::AssertionFailure() << "only a opens actively";
        p.connect();
        return until(state::syn_sent);
    case state::syn_received:
        if (who == side::a) {
            p.open_simultaneous(tcp::seq_number{1000}, tcp::seq_number{5000});
        } else {
            p.connect();
        }
        return until(state::syn_received);
    case state::established: return establish(p);
    case state::fin_wait_1:
        if (auto r = establish(p); !r) return r;
        us.conn.shutdown_send(p.now());
        return until(state::fin_wait_1);
    case state::fin_wait_2:
        if (auto r = drive_to(p, who, state::fin_wait_1); !r) return r;
        return until(state::fin_wait_2);
    case state::closing:
        if (auto r = establish(p); !r) return r;
        us.conn.shutdown_send(p.now());
        them.conn.shutdown_send(p.now());
        return until(state::closing);
    case state::time_wait:
        if (auto r = drive_to(p, who, state::fin_wait_2); !r) return r;
        them.conn.shutdown_send(p.now());
        return until(state::time_wait);
    case state::close_wait:
        if (auto r = establish(p); !r) return r;
        them.conn.shutdown_send(p.now());
        if (auto r = until(state::close_wait); !r) return r;
        // Our ACK of the FIN is due at the end of the batch: let it reach the other side.
        return reached(p, who, state::close_wait, [&] { return is(them, state::fin_wait_2); });
    case state::last_ack:
        if (auto r = drive_to(p, who, state::close_wait); !r) return r;
        us.conn.shutdown_send(p.now());
        return until(state::last_ack);
    case state::closed:
    case state::listen: break;
    }
    return ::testing::AssertionFailure() << "no way to drive a pair to " << tcp::to_string(target);
}

}  // namespace tapstack::testing
