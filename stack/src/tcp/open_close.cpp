// The user calls (RFC 9293 §3.10.1-§3.10.6): OPEN, SEND, RECEIVE, CLOSE, ABORT, and the options
// the application sets. Each ends by flushing the events it caused to the observer.
#include <algorithm>
#include <span>

#include "connection_impl.hpp"

namespace tapstack::tcp {

using detail::synchronized;

void connection::open_active(const ip::four_tuple& tuple, seq_number iss, std::uint32_t ts_offset, instant now) {
    auto& m = *impl_;
    m.reset_for_open(tuple, iss, ts_offset, now);
    ++m.stats.active_opens;
    m.enter(state::syn_sent, now);
    m.syn_sent_at = now;
    m.send_syn(now);
    m.flush_events();
}

void connection::open_passive(const ip::four_tuple& tuple, const wire::tcp_segment& syn, seq_number iss,
                              std::uint32_t ts_offset, instant now) {
    auto& m = *impl_;
    m.take_passive_syn(tuple, syn, iss, ts_offset, now);
    m.send_syn(now);
    m.flush_events();
}

void connection::impl::take_passive_syn(const ip::four_tuple& t, const wire::tcp_segment& syn, seq_number isn,
                                        std::uint32_t tsoff, instant now) {
    reset_for_open(t, isn, tsoff, now);
    ++stats.passive_opens;
    passive = true;
    rcv.take_syn(syn.seq);
    apply_syn_options(syn);
    snd.take_syn_window(syn, isn);
    enter(state::syn_received, now);
}

void connection::open_from_cookie(const ip::four_tuple& tuple, const wire::tcp_segment& syn, seq_number iss,
                                  std::uint32_t ts_offset, instant now) {
    auto& m = *impl_;
    m.take_passive_syn(tuple, syn, iss, ts_offset, now);
    // The SYN-ACK left without us (the socket layer sent the cookie): the bookkeeping send_syn
    // does for it. The retransmission timer runs as if it had been sent now.
    m.rcv.adv = m.rcv.nxt + syn_window(m.cfg);
    m.last_ack_sent = m.rcv.nxt;
    m.rcv.acked();
    m.snd.nxt = iss + 1;
    m.snd.max = m.snd.nxt;
    m.timers.rto = now + m.rtt.rto();
    m.flush_events();
}

std::size_t connection::send(bytes data, instant now) {
    const bytes pieces[1] = {data};
    return send(std::span<const bytes>{pieces}, now);
}

std::size_t connection::send(std::span<const bytes> pieces, instant now) {
    auto& m = *impl_;
    if (!m.can_queue_data() || m.snd.fin_queued) return 0;
    std::size_t total = 0;
    for (const bytes& p : pieces) total += p.size();
    if (total == 0 || !m.make_send_room(total)) return 0;  // tcp_stats says why
    // Every piece goes into the ring before output() looks at it: a header and a body written
    // together leave together (one segment when they fit), and Nagle never holds the second.
    std::size_t n = 0;
    for (const bytes& p : pieces) {
        const std::size_t k = m.snd.buf.write(p);
        n += k;
        if (k < p.size()) break;
    }
    if (n > 0) m.output(now);
    m.flush_events();
    return n;
}

std::size_t connection::receive(mutable_bytes out, instant now) {
    auto& m = *impl_;
    if (m.app_closed) return 0;
    const std::size_t n = m.rcv.buf.read(out.first(std::min(out.size(), m.rcv.buf.size())));
    if (n > 0 && synchronized(m.st) && m.st != state::time_wait && m.st != state::close_wait &&
        m.st != state::last_ack && m.st != state::closing) {
        // Window update when the application made room (RFC 9293 §3.8.6.2.2 / RFC 1122 4.2.3.3):
        // the edge must grow by >= 2*MSS or half the buffer, else wait for the next ACK.
        // Only worth an ACK of its own when the peer is (nearly) window-limited: what it may
        // still send is under twice that threshold (otherwise the next ACK carries the news).
        if (m.rcv.window_update_due(m.cfg.mss)) {
            ++m.stats.window_updates;
            m.send_ack(now);
        }
    }
    m.flush_events();
    return n;
}

std::size_t connection::bytes_readable() const noexcept { return impl_->app_closed ? 0 : impl_->rcv.buf.size(); }

std::size_t connection::send_space() const noexcept {
    const auto& m = *impl_;
    if (!m.can_queue_data() || m.snd.fin_queued) return 0;
    // What send() would take now: the room left, or what the ring may still grow to.
    if (m.snd_fixed || m.snd.buf.capacity() == 0) return m.snd.buf.capacity() == 0 ? m.snd_max : m.snd.buf.free();
    return m.snd_max - m.snd.buf.size();
}

std::size_t connection::bytes_unacknowledged() const noexcept { return impl_->snd.buf.size(); }

bool connection::eof() const noexcept { return impl_->rcv.fin_received && impl_->rcv.buf.empty(); }

void connection::shutdown_send(instant now) {
    auto& m = *impl_;
    switch (m.st) {
    case state::syn_sent: m.enter(state::closed, now); break;  // RFC 9293 §3.10.4: delete the TCB
    case state::syn_received:
    case state::established:
        m.snd.fin_queued = true;
        m.enter(state::fin_wait_1, now);
        m.output(now);
        break;
    case state::close_wait:
        m.snd.fin_queued = true;
        m.enter(state::last_ack, now);
        m.output(now);
        break;
    default: break;  // already closing
    }
    m.flush_events();
}

void connection::close(instant now) {
    auto& m = *impl_;
    if (!m.rcv.buf.empty() && synchronized(m.st) && m.st != state::time_wait) {
        // RFC 1122 4.2.2.13 / RFC 2525 §2.17: closing with unread data resets the connection.
        m.send_rst(m.snd.max, m.rcv.nxt, now);
        m.app_closed = true;
        m.enter(state::closed, now);
        m.flush_events();
        return;
    }
    m.app_closed = true;
    shutdown_send(now);
    m.arm_orphan_timer(now);  // closed after a half-close that already reached FIN-WAIT-2
}

void connection::abort(instant now) {
    auto& m = *impl_;
    if (m.st == state::closed) return;
    if (synchronized(m.st) || m.st == state::syn_received) {
        if (m.st != state::time_wait) m.send_rst(m.snd.max, m.rcv.nxt, now);  // RFC 9293 §3.10.5
    }
    ++m.stats.connections_aborted;
    m.err = error::connection_aborted;
    m.app_closed = true;
    m.enter(state::closed, now);
    m.flush_events();
}

void connection::drop(instant now) {
    auto& m = *impl_;
    if (m.st == state::closed) return;
    m.err = error::connection_aborted;
    m.app_closed = true;
    m.enter(state::closed, now);
    m.flush_events();
}

void connection::set_no_delay(bool on) noexcept { impl_->snd.nodelay = on; }

void connection::set_send_buffer_size(std::uint32_t size) noexcept {
    auto& m = *impl_;
    m.snd_max = std::max<std::uint32_t>(size, m.cfg.mss);
    m.snd_fixed = true;
    // A ring already holding more keeps its bytes; one with room to spare stays as it is until
    // it is next allocated (rings are only ever resized to grow).
    if (m.snd.buf.capacity() != 0 && m.snd.buf.capacity() < m.snd_max)
        m.grow_ring(m.snd.buf, m.snd_max, m.snd_max, m.snd_max);
}

void connection::set_receive_buffer_size(std::uint32_t size) noexcept {
    auto& m = *impl_;
    m.rcv_max = std::max<std::uint32_t>(size, m.cfg.mss);
    m.rcv_fixed = true;
    // Before the SYN: the window scale follows (RFC 7323 §2.3). After: the window bound changes
    // within the negotiated scale, and the right edge already advertised never moves left.
    // (finish_negotiation() applies it when the SYN-ACK comes.)
    if (m.st == state::closed)
        m.rcv.reset(m.cfg, m.rcv_max);
    else if (m.st != state::syn_sent)
        m.rcv.negotiated(m.ws_ok, m.rcv_max);
}

std::uint32_t connection::send_buffer_size() const noexcept { return impl_->snd_max; }
std::uint32_t connection::receive_buffer_size() const noexcept { return impl_->rcv_max; }
bool connection::buffers_autotuned() const noexcept { return !impl_->snd_fixed || !impl_->rcv_fixed; }
std::size_t connection::send_ring_capacity() const noexcept { return impl_->snd.buf.capacity(); }
std::size_t connection::receive_ring_capacity() const noexcept { return impl_->rcv.buf.capacity(); }

}  // namespace tapstack::tcp
