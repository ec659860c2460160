// The TCP connection state machine (RFC 9293), with RFC 6298 retransmission, RFC 5681/6582/6675
// congestion and loss recovery, RFC 7323 window scaling/timestamps/PAWS, RFC 2018 SACK and the
// RFC 5961 hardening. Sans-I/O: `now` comes in, segments leave through the segment_sink.
// This file: construction, (re)opening, state changes, buffer memory and inspection; the rest
// is in files by RFC section (connection_impl.hpp).
#include "connection_impl.hpp"

#include <algorithm>

namespace tapstack::tcp {

using detail::synchronized;
using ev = connection_observer;

std::string_view to_string(state s) noexcept {
    switch (s) {
    case state::closed: return "CLOSED";
    case state::listen: return "LISTEN";
    case state::syn_sent: return "SYN-SENT";
    case state::syn_received: return "SYN-RECEIVED";
    case state::established: return "ESTABLISHED";
    case state::fin_wait_1: return "FIN-WAIT-1";
    case state::fin_wait_2: return "FIN-WAIT-2";
    case state::close_wait: return "CLOSE-WAIT";
    case state::closing: return "CLOSING";
    case state::last_ack: return "LAST-ACK";
    case state::time_wait: return "TIME-WAIT";
    }
    return "?";
}

std::string_view to_string(error e) noexcept {
    switch (e) {
    case error::none: return "none";
    case error::connection_refused: return "connection refused";
    case error::connection_reset: return "connection reset";
    case error::timed_out: return "timed out";
    case error::connection_aborted: return "connection aborted";
    case error::host_unreachable: return "host unreachable";
    }
    return "?";
}

// ==================================================================== (re)opening

void connection::impl::reset_for_open(const ip::four_tuple& t, seq_number isn, std::uint32_t tsoff, instant now) {
    st = state::closed;
    err = error::none;
    tuple = t;
    events = 0;
    snd.reset(isn);
    release(snd.buf);  // allocated on the first send(), see make_send_room()
    release(rcv.buf);  // allocated when the first byte of data arrives
    if (snd.scratch_size != cfg.mss) {
        snd.scratch = std::make_unique<std::byte[]>(cfg.mss);
        snd.scratch_size = cfg.mss;
    }
    rcv.reset(cfg, rcv_max);
    app_closed = false;
    peer_mss = default_peer_mss();
    smss = std::min(peer_mss, cfg.mss);
    ws_ok = ts_ok = sack_ok = false;
    ts_offset = tsoff;
    ts_recent = 0;
    last_ack_sent = seq_number{};
    recovery.reset(isn);
    scoreboard.clear();
    rtt_timing = false;
    rtt.reset(cfg.initial_rto);
    timers.stop_all();
    timers.retries = 0;
    timers.rto_base = now;
    passive = false;
    soft_err = error::none;
    path_mss = 0;
    timers.keepalive_sent = 0;
    own_challenge_limiter = {};
}

/// RFC 9293 §3.7.1 MUST-15: what to assume when the peer's SYN has no MSS option.
std::uint16_t connection::impl::default_peer_mss() const noexcept {
    return tuple.remote.address.is_v6() ? cfg.default_peer_mss_v6 : cfg.default_peer_mss;
}

/// Once options are known: the receive ring (with round-up slack) and the sender MSS.
void connection::impl::finish_negotiation() {
    rcv.negotiated(ws_ok, rcv_max);
    // The ring itself waits for the first data and grows as data arrives (accept_data).
    // RFC 9293 §3.7.1: the effective send MSS leaves room for the options every segment
    // carries (the 12 bytes of timestamps); never above our own MSS (our link).
    // peer_mss is at least min_peer_mss (48): with timestamps, 36 bytes of data.
    std::uint32_t m = std::min(peer_mss, cfg.mss);
    if (ts_ok) m = m > 12 ? m - 12 : 1;
    smss = static_cast<std::uint16_t>(std::max<std::uint32_t>(m, 1));
    cc->reset(smss, cfg.initial_window_segments);
}

void connection::impl::apply_syn_options(const wire::tcp_segment& seg) {
    // MUST-16: honoured down to min_peer_mss; MUST-15: the default by address family.
    peer_mss = seg.options.mss ? std::max(*seg.options.mss, min_peer_mss) : default_peer_mss();
    if (path_mss != 0) peer_mss = std::min(peer_mss, path_mss);  // a PMTU report in SYN-SENT
    // RFC 7323 §2.2 / §3.2: only when both sides sent the option (active: we sent ours if on).
    ws_ok = cfg.window_scaling && seg.options.window_scale.has_value();
    snd.wscale = ws_ok ? std::min<std::uint8_t>(*seg.options.window_scale, 14) : 0;  // §2.3: >14 → 14
    ts_ok = cfg.timestamps && seg.options.timestamps.has_value();
    if (ts_ok) ts_recent = seg.options.timestamps->value;
    sack_ok = cfg.sack && seg.options.sack_permitted;
    finish_negotiation();
}

// ==================================================================== state changes

void connection::impl::enter(state next, instant now) {
    if (st == next) return;
    const state prev = st;
    st = next;
    if (next == state::established && (prev == state::syn_sent || prev == state::syn_received)) {
        events |= ev::established | ev::writable;
        if (timers.keepalive_on) timers.keepalive = now + cfg.keepalive_idle;
    }
    if (next == state::fin_wait_2) arm_orphan_timer(now);
    if (next == state::time_wait) {
        release(snd.buf);  // nothing is sent any more (a retransmitted FIN is re-ACKed)
        snd.scratch.reset();  // nor any data: TIME-WAIT keeps no per-segment buffer either
        snd.scratch_size = 0;  // (reset_for_open allocates it again)
        if (app_closed || rcv.buf.empty()) release(rcv.buf);  // unread data stays readable
        timers.rto = timers.persist = timers.keepalive = timers.dack = std::nullopt;
        timers.time_wait = now + 2 * cfg.msl;  // RFC 9293 §3.4.2
    }
    if (next == state::closed) {
        release(snd.buf);
        if (app_closed || rcv.buf.empty()) release(rcv.buf);  // unread data stays readable
        timers.stop_all();
        events |= ev::closed | ev::readable | ev::writable;
    }
}

// An orphan in FIN-WAIT-2 (the application closed, the peer ACKed our FIN but never sends
// its own) would otherwise live forever: RFC 9293 sets no limit, but a peer that vanished
// must not hold resources. Like Linux's tcp_fin_timeout, give up after a while (the
// TIME-WAIT timer slot does the job: it ends in CLOSED). A half-closed connection whose
// application still reads (shutdown_send only) is not an orphan and waits as long as it likes.
void connection::impl::arm_orphan_timer(instant now) {
    if (st == state::fin_wait_2 && app_closed && cfg.fin_wait_2_timeout.count() > 0)
        timers.time_wait = now + cfg.fin_wait_2_timeout;
}

void connection::impl::fail(error e, instant now) {
    err = e;
    if (e == error::timed_out) {
        ++stats.connections_timed_out;
        // RFC 1122 4.2.3.9: a soft error explains the timeout better than "timed out" does
        // (Linux's tcp_write_err reports sk_err_soft, EHOSTUNREACH, the same way).
        if (soft_err != error::none) err = soft_err;
    }
    if (e == error::connection_reset && (st == state::established || st == state::close_wait)) ++stats.estab_resets;
    enter(state::closed, now);
}

// ==================================================================== buffer memory
// The rings are allocated on first use (the first send(), the first data segment), small
// (config.*_buffer_initial), and grow by doubling as the connection needs them, up to the
// connection's maximum: the receive ring when data arrives within the window that does not fit
// (the window advertised is the maximum's from the SYN on, as Linux's window clamp: the ring
// follows what the peer really has in flight and the application has not read yet), the send
// ring when the application writes more than fits and the windows could carry more. They are
// returned when nothing more can go through them (CLOSED, TIME-WAIT, our FIN acknowledged, the
// peer's FIN read), or, once the stack's buffers are nearly all in use, as soon as they are
// drained. A half-open or idle connection costs only its control block. Every byte counts
// against config.max_buffer_memory, stack-wide (the stats block is the stack's), and the
// budget is never exceeded: past it, send() takes nothing (the socket layer reports
// would_block and wakes the socket when memory is freed), the receive window stops opening
// (receive_side::candidate_edge), and data that does not fit the ring is dropped as if it were
// lost (the peer retransmits). Allocation is per connection and direction at growth events,
// never per packet.

bool connection::impl::grow_ring(ring_buffer& r, std::size_t need, std::size_t max, std::size_t first) {
    need = std::min(need, max);
    const std::size_t cap = r.capacity();
    if (cap >= need) return true;
    std::size_t next = cap != 0 ? cap : std::max<std::size_t>(first, 1);
    while (next < need) next *= 2;
    next = std::min(next, max);
    const std::uint64_t in_use = stats.buffer_bytes_in_use;
    const std::uint64_t left = cfg.max_buffer_memory > in_use ? cfg.max_buffer_memory - in_use : 0;
    if (next - cap > left) next = cap + static_cast<std::size_t>(left);  // what the budget still allows
    // A ring starts at `first` (or at `need` when more) or not at all; growing, it may stop short.
    if (next < need || (cap == 0 && next < std::min(std::max(first, need), max))) {
        ++stats.buffer_memory_refusals;
        return false;
    }
    if (cap == 0) {
        r.reset(next);
    } else {
        r.resize(next);
        ++stats.buffer_grows;
    }
    stats.buffer_bytes_in_use += next - cap;
    stats.buffer_bytes_peak = std::max(stats.buffer_bytes_peak, stats.buffer_bytes_in_use);
    return true;
}

bool connection::impl::make_send_room(std::size_t n) {
    if (snd.buf.capacity() == 0 && !grow_ring(snd.buf, std::min(n, snd_initial()), snd_max, snd_initial()))
        return false;
    if (snd_fixed || n <= snd.buf.free() || snd.buf.capacity() >= snd_max) return true;
    // Autotuning: room for what the windows could carry, four times min(cwnd, the peer's largest
    // window): slow start doubles cwnd in an RTT, and a batch of ACKs frees the ring before the
    // application refills it. Never more than the application has to write.
    const std::size_t carry = std::min<std::size_t>(cc->cwnd(), std::max<std::uint32_t>(snd.max_wnd, smss));
    const std::size_t want = std::min(snd.buf.size() + n, std::max(4 * carry, snd_initial()));
    if (want > snd.buf.capacity()) {
        const auto refusals = stats.buffer_memory_refusals;
        grow_ring(snd.buf, want, snd_max, snd_initial());  // refused: the ring keeps its size
        stats.buffer_memory_refusals = refusals;  // not a refusal: send() still takes what fits
    }
    return true;
}

// ==================================================================== public: life and inspection

connection::connection(const config& cfg, tcp_stats& stats, segment_sink& out, connection_observer& observer) noexcept
    : impl_{new impl{*this, cfg, stats, out, observer}} {}

connection::~connection() {
    impl_->release(impl_->snd.buf);
    impl_->release(impl_->rcv.buf);
    delete impl_;
}

state connection::current_state() const noexcept { return impl_->st; }
error connection::last_error() const noexcept { return impl_->err; }
error connection::soft_error() const noexcept { return impl_->soft_err; }
bool connection::passive_open() const noexcept { return impl_->passive; }
std::uint16_t connection::syn_window(const config& cfg) noexcept {
    return static_cast<std::uint16_t>(std::min<std::uint32_t>(cfg.receive_buffer_size, 65535));
}
void connection::set_challenge_ack_limiter(challenge_ack_limiter* limiter) noexcept {
    impl_->challenge_limiter = limiter ? limiter : &impl_->own_challenge_limiter;
}
const ip::four_tuple& connection::tuple() const noexcept { return impl_->tuple; }
seq_number connection::rcv_nxt() const noexcept { return impl_->rcv.nxt; }

connection_info connection::info() const noexcept {
    const auto& m = *impl_;
    connection_info i;
    i.iss = m.snd.iss;
    i.irs = m.rcv.irs;
    i.snd_una = m.snd.una;
    i.snd_nxt = m.snd.nxt;
    i.snd_max = m.snd.max;
    i.rcv_nxt = m.rcv.nxt;
    i.snd_wnd = m.snd.wnd;
    i.rcv_wnd = m.rcv.window();
    i.cwnd = m.cc->cwnd();
    i.ssthresh = m.cc->ssthresh();
    i.peer_mss = m.peer_mss;
    i.smss = m.smss;
    i.snd_wscale = m.snd.wscale;
    i.rcv_wscale = m.rcv.wscale;
    i.window_scaling = m.ws_ok;
    i.timestamps = m.ts_ok;
    i.sack = m.sack_ok;
    i.in_recovery = m.recovery.in_recovery();
    i.srtt = m.rtt.srtt();
    i.rttvar = m.rtt.rttvar();
    i.rto = m.rtt.rto();
    i.ooo_bytes = m.rcv.ooo.total();
    i.soft_error = m.soft_err;
    return i;
}

}  // namespace tapstack::tcp
