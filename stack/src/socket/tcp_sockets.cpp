// TCP sockets: listeners, the 4-tuple table, LISTEN-state processing (RFC 9293 §3.10.7.2),
// resets for segments nobody owns (§3.10.7.1), ISNs (RFC 6528), and the per-connection timers.
#include "../stack/stack_impl.hpp"

namespace tapstack {
namespace {
bool may_send_data(tcp::state s) { return s == tcp::state::established || s == tcp::state::close_wait; }
bool is_handshaking(tcp::state s) { return s == tcp::state::syn_sent || s == tcp::state::syn_received; }
errc to_errc(tcp::error e) {
    switch (e) {
    case tcp::error::none: return errc::success;
    case tcp::error::connection_refused: return errc::connection_refused;
    case tcp::error::connection_reset: return errc::connection_reset;
    case tcp::error::timed_out: return errc::timed_out;
    case tcp::error::connection_aborted: return errc::connection_aborted;
    case tcp::error::host_unreachable: return errc::host_unreachable;
    }
    return errc::connection_aborted;
}
}  // namespace

tcp::seq_number stack::impl::make_isn(const ip::four_tuple& t, instant at) const {
    // RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs clock.
    struct {
        std::array<std::uint8_t, 16> la, ra;
        std::uint16_t lp, rp;
    } key{t.local.address.key_bytes(), t.remote.address.key_bytes(), t.local.port, t.remote.port};
    const auto f = static_cast<std::uint32_t>(siphash24(isn_key, &key, sizeof key));
    const auto m = static_cast<std::uint32_t>(to_us(at) / 4);
    return tcp::seq_number{m + f};
}

std::uint32_t stack::impl::make_ts_offset(const ip::four_tuple& t) const {
    // RFC 7323 §5.4: a per-connection random offset keeps TSval from leaking uptime.
    struct {
        std::array<std::uint8_t, 16> la, ra;
        std::uint16_t lp, rp;
    } key{t.local.address.key_bytes(), t.remote.address.key_bytes(), t.local.port, t.remote.port};
    const std::uint64_t k[2] = {isn_key[1], isn_key[0]};
    return static_cast<std::uint32_t>(siphash24(k, &key, sizeof key));
}

tcp_socket* stack::impl::new_tcp_socket() {
    if (tcp_socket_count - time_wait_count >= cfg.max_tcp_sockets) return nullptr;  // TIME-WAIT is apart
    auto slot = allocate_slot(socket_kind::tcp);
    if (!slot) return nullptr;
    auto& s = slots[*slot];
    s.tcp = std::make_unique<tcp_socket>();
    s.tcp->slot = *slot;
    s.tcp->binding.owner_slot = *slot;
    ++tcp_socket_count;
    return s.tcp.get();
}

tcp_socket* stack::impl::find_listener(const ip::address& local, ip::port_number port) {
    tcp_socket* wildcard = nullptr;
    for (auto* l : listeners) {
        if (l->local.port != port) continue;
        if (l->local.address == local) return l;
        if (l->local.address.is_unspecified() && wildcard_takes(l->local.address, l->binding.v6_only, local))
            wildcard = l;
    }
    return wildcard;
}

void stack::impl::send_segment(const ip::four_tuple& tuple, const wire::tcp_segment& seg) {
    if (tuple.remote.address.is_v6()) return send_segment_v6(tuple, seg);  // ipv6_sockets.cpp
    const ip::address src = tuple.local.address, dst = tuple.remote.address;
    tx_gso_size = seg.payload.size() > seg.gso_size ? seg.gso_size : 0;  // TSO (../stack/output.cpp, emit)
    const bool sent = send_ipv4(*this, dst.to_v4(), static_cast<std::uint8_t>(wire::ip_protocol::tcp),
                                seg.encoded_size(), now, [&](mutable_bytes payload_out) {
                                    wire::encode_tcp(seg, payload_out, src, dst, cfg.tx_checksum_offload);  // see emit
                                });
    tx_gso_size = 0;
    if (sent) ++stats.tcp.out_segs;
    if (sent && seg.flags.rst) ++stats.tcp.out_rsts;
}

void stack::impl::send_reset_for(const ip::four_tuple& tuple, const wire::tcp_segment& seg, instant t) {
    // RFC 9293 §3.10.7.1: never answer a reset; otherwise
    //   ACK set:   <SEQ=SEG.ACK><CTL=RST>
    //   ACK clear: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    if (seg.flags.rst) return;
    now = t;
    wire::tcp_segment rst;
    rst.source_port = tuple.local.port;
    rst.destination_port = tuple.remote.port;
    rst.flags.rst = true;
    if (seg.flags.ack) {
        rst.seq = seg.ack;
    } else {
        rst.ack = seg.seq + seg.sequence_length();
        rst.flags.ack = true;
    }
    send_segment(tuple, rst);
}

namespace {
/// RFC 9293 MUST-63 / RFC 1122 4.2.3.10: an address that cannot be a unicast peer (unspecified,
/// loopback, broadcast, multicast).
bool impossible_peer(const ip::address& src, const stack_config& cfg) noexcept {
    const bool bad_v6_source = src.is_v6() &&
        (src.is_unspecified() || src.to_v6().is_multicast() ||
         src.to_v6() == ip::address_v6{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}});
    const auto from = src.to_v4();
    return bad_v6_source ||
        (src.is_v4() &&
         (from.is_unspecified() || from.is_loopback() || from.is_broadcast() || from.is_multicast() ||
          from == cfg.ipv4.directed_broadcast()));
}
}  // namespace

void stack::impl::on_tcp(const wire::ipv4_view& ip, instant t) {
    on_tcp(ip::address{ip.source()}, ip::address{ip.destination()}, ip.payload(), t);
}

// A segment for a connection we have; false when there is none, or when a SYN reincarnates
// the connection in TIME-WAIT (it goes to the listener as a new one).
bool stack::impl::to_connection(const ip::four_tuple& tuple, const wire::tcp_segment& seg, instant t) {
    auto it = connections.find(tuple);
    if (it == connections.end()) return false;
    tcp_socket& s = *it;
    const bool reincarnation = s.conn->current_state() == tcp::state::time_wait && seg.flags.syn && !seg.flags.ack &&
        !seg.flags.rst && s.conn->accepts_reincarnation(seg) &&
        find_listener(tuple.local.address, seg.destination_port) != nullptr;
    if (!reincarnation) {
        s.conn->on_segment(seg, t);
        touch(s);
        if (!s.user_owned && !s.in_time_wait_budget) note_time_wait(s);
        return true;
    }
    // RFC 9293 §3.10.7.4 / RFC 6191: a new SYN above the old sequence space ends TIME-WAIT.
    ++stats.tcp.time_wait_reuses;
    s.user_owned = false;
    release_tcp(s);
    return false;
}

void stack::impl::on_tcp(const ip::address& src, const ip::address& dst, bytes segment, instant t) {
    // A checksum the link vouched for (partial on a TAP with offload, stack::receive's rx_offload) is not checked.
    auto view =
        rx_l4_checksum_trusted ? wire::tcp_view::parse_unchecked(segment) : wire::tcp_view::parse(segment, src, dst);
    if (!view) {
        ++stats.tcp.in_errs;
        return;
    }
    auto decoded = view->decode();
    if (!decoded) {
        ++stats.tcp.in_errs;
        return;
    }
    const auto& seg = *decoded;
    ++stats.tcp.in_segs;
    // Port 0 is reserved for TCP: nothing may come from or go to it.
    if (seg.source_port == 0 || seg.destination_port == 0) {
        ++stats.tcp.port_zero_drops;
        return;
    }
    const ip::four_tuple tuple{{dst, seg.destination_port}, {src, seg.source_port}};
    if (to_connection(tuple, seg, t)) return;

    tcp_socket* listener = find_listener(dst, seg.destination_port);
    if (!listener) {
        ++stats.tcp.no_listener_rsts;
        send_reset_for(tuple, seg, t);
        return;
    }
    // LISTEN (RFC 9293 §3.10.7.2): RST ignored, any ACK answered with RST, then SYN.
    if (seg.flags.rst) return;
    if (seg.flags.ack) {
        if (accept_cookie(*listener, tuple, seg, t)) return;
        send_reset_for(tuple, seg, t);
        return;
    }
    if (!seg.flags.syn) return;
    // RFC 9293 MUST-63 / RFC 1122 4.2.3.10: a SYN from an address that cannot be a unicast
    // peer (unspecified, loopback, broadcast, multicast) is dropped.
    if (impossible_peer(src, cfg)) {
        ++stats.ip.in_martians;
        return;
    }
    if (listener->half_open >= cfg.max_syn_backlog) {
        if (cfg.syn_cookies) {
            // RFC 4987 §3.6: no state until the peer proves it got our SYN-ACK. Linux drops the
            // SYN instead when the accept queue is full too: the cookie's connection would have
            // nowhere to go.
            if (listener->accept_queue.size() >= listener->backlog) {
                ++stats.tcp.accept_queue_drops;
                return;
            }
            send_syn_cookie(*listener, tuple, seg, t);
            return;
        }
        if (!evict_half_open(*listener, t)) {
            ++stats.tcp.syn_backlog_drops;  // dropped silently, as Linux does: the peer retries
            return;
        }
    }
    if (listener->accept_queue.size() >= listener->backlog) {
        ++stats.tcp.accept_queue_drops;
        return;
    }
    open_child(*listener, tuple, seg, t);
}

void stack::impl::open_child(tcp_socket& parent, const ip::four_tuple& tuple, const wire::tcp_segment& seg, instant t) {
    tcp_socket* child = new_child(parent, tuple);
    if (!child) {
        ++stats.tcp.connection_limit_drops;
        return;
    }
    ++parent.half_open;
    // Tables first: the SYN-ACK leaves from inside open_passive and events may follow.
    child->conn->open_passive(tuple, seg, make_isn(tuple, t), make_ts_offset(tuple), t);
    child->tuple = tuple;
    connections.insert(*child);
    tcp_ports.add(child->binding);
    touch(*child);
}

/// A connection socket for `listener`, not yet in the tables; nullptr at the socket limit.
tcp_socket* stack::impl::new_child(tcp_socket& listener, const ip::four_tuple& tuple) {
    tcp_socket* child = new_tcp_socket();
    if (!child) return nullptr;
    child->role = tcp_role::connection;
    child->user_owned = false;
    child->parent = &listener;
    child->local = tuple.local;
    child->reuse_address = listener.reuse_address;
    child->conn.emplace(tuple.local.address.is_v6() ? tcp_v6 : cfg.tcp, stats.tcp, *this, *this);
    child->conn->user_data = child;
    child->conn->set_challenge_ack_limiter(&challenge_acks);
    child->no_delay = listener.no_delay;
    if (child->no_delay) child->conn->set_no_delay(true);
    child->send_buffer = listener.send_buffer;
    child->receive_buffer = listener.receive_buffer;
    apply_buffer_sizes(*child);
    child->binding.address = tuple.local.address;
    child->binding.port = tuple.local.port;
    child->binding.reuse_address = child->reuse_address;
    child->binding.conn = &*child->conn;
    return child;
}

// ---------------------------------------------------------------- SYN cookies (RFC 4987 §3.6)
//
// The ISN of a cookie SYN-ACK, 32 bits:
//   31..30  the time counter (64 s ticks) modulo 4: a cookie is good for the tick it was made
//           in and the next one (64 to 128 s, about Linux's two minutes)
//   29..27  index into cookie_mss: the largest entry not above the peer's MSS
//   26..0   SipHash-2-4 of the 4-tuple, the peer's ISN, the counter and the index, keyed with
//           the stack's ISN secret (domain-separated from make_isn): 2^-27 for a guessed ACK.
// The third-step ACK gives back the peer's ISN (SEG.SEQ - 1) and ours (SEG.ACK - 1); nothing
// else is needed, so window scaling, SACK and timestamps are not offered on a cookie SYN-ACK.
namespace {
constexpr std::array<std::uint16_t, 8> cookie_mss{536, 1024, 1220, 1300, 1380, 1440, 1460, 8960};
constexpr std::int64_t cookie_tick_us = 64'000'000;
constexpr std::uint32_t cookie_hash_mask = (1u << 27) - 1;
std::uint64_t cookie_count(instant t) { return static_cast<std::uint64_t>(to_us(t) / cookie_tick_us); }
}  // namespace

std::uint32_t stack::impl::cookie_hash(const ip::four_tuple& t, tcp::seq_number irs, std::uint64_t count,
                                       std::uint32_t mss_index) const {
    struct {
        std::array<std::uint8_t, 16> la, ra;
        std::uint16_t lp, rp;
        std::uint32_t irs, count, index;
    } key{t.local.address.key_bytes(),
          t.remote.address.key_bytes(),
          t.local.port,
          t.remote.port,
          irs.value(),
          static_cast<std::uint32_t>(count),
          mss_index};
    static_assert(sizeof key == 48, "no padding: every byte hashed is set");
    const std::uint64_t k[2] = {isn_key[0] ^ 0x73796e2d636f6f6bull, isn_key[1]};  // "syn-cook"
    return static_cast<std::uint32_t>(siphash24(k, &key, sizeof key));
}

void stack::impl::send_syn_cookie(tcp_socket& listener, const ip::four_tuple& tuple, const wire::tcp_segment& syn,
                                  instant t) {
    const tcp::config& tc = tuple.local.address.is_v6() ? tcp_v6 : cfg.tcp;
    const std::uint16_t peer_mss = syn.options.mss.value_or(tc.default_peer_mss);
    std::uint32_t index = 0;
    for (std::uint32_t i = 0; i < cookie_mss.size(); ++i)
        if (cookie_mss[i] <= peer_mss) index = i;
    const std::uint64_t count = cookie_count(t);
    const std::uint32_t cookie = static_cast<std::uint32_t>((count & 3) << 30) | (index << 27) |
        (cookie_hash(tuple, syn.seq, count, index) & cookie_hash_mask);
    wire::tcp_segment s;
    s.source_port = tuple.local.port;
    s.destination_port = tuple.remote.port;
    s.seq = tcp::seq_number{cookie};
    s.ack = syn.seq + 1;
    s.flags.syn = true;
    s.flags.ack = true;
    s.options.mss = tc.mss;
    s.window = tcp::connection::syn_window(tc);
    now = t;
    send_segment(tuple, s);
    ++stats.tcp.syn_cookies_sent;
    listener.cookies_sent = true;
    listener.cookie_sent_at = t;
}

bool stack::impl::accept_cookie(tcp_socket& listener, const ip::four_tuple& tuple, const wire::tcp_segment& ack,
                                instant t) {
    // Only while cookies may be outstanding: otherwise an ACK here is simply answered with RST.
    if (!cfg.syn_cookies || !listener.cookies_sent ||
        t - listener.cookie_sent_at >= 2 * std::chrono::microseconds{cookie_tick_us})
        return false;
    if (ack.flags.syn) return false;
    const tcp::seq_number irs = ack.seq - 1;
    const std::uint32_t cookie = (ack.ack - 1).value();
    const std::uint32_t index = (cookie >> 27) & 7;
    const std::uint64_t count_now = cookie_count(t);
    bool valid = false;
    for (std::uint64_t age = 0; age < 2 && age <= count_now && !valid; ++age) {
        const std::uint64_t count = count_now - age;
        valid = (count & 3) == (cookie >> 30) &&
            (cookie_hash(tuple, irs, count, index) & cookie_hash_mask) == (cookie & cookie_hash_mask);
    }
    if (!valid) {
        ++stats.tcp.syn_cookies_failed;
        return false;
    }
    // Valid, but no room: dropped without a word (the peer's retransmission may find room).
    if (listener.accept_queue.size() >= listener.backlog) {
        ++stats.tcp.accept_queue_drops;
        return true;
    }
    tcp_socket* child = new_child(listener, tuple);
    if (!child) {
        ++stats.tcp.connection_limit_drops;
        return true;
    }
    ++stats.tcp.syn_cookies_validated;
    wire::tcp_segment syn;  // the SYN the cookie stands for
    syn.source_port = tuple.remote.port;
    syn.destination_port = tuple.local.port;
    syn.seq = irs;
    syn.flags.syn = true;
    syn.window = ack.window;
    syn.options.mss = cookie_mss[index];
    ++listener.half_open;
    child->conn->open_from_cookie(tuple, syn, tcp::seq_number{cookie}, make_ts_offset(tuple), t);
    child->tuple = tuple;
    connections.insert(*child);
    tcp_ports.add(child->binding);
    child->conn->on_segment(ack, t);  // SYN-RECEIVED -> ESTABLISHED, with any data it carries
    touch(*child);
    return true;
}

// The SYN backlog is full: make room by dropping one half-open connection picked at random
// (RFC 4987 §3.4, "random drop"). Under a SYN flood from addresses that never complete the
// handshake (spoofed, or not even answering ARP), refusing new SYNs would lock every legitimate
// client out until the flood's entries time out (minutes of SYN-ACK retransmissions); with
// random drop a real client's entry survives the few round trips its handshake takes with high
// probability. The evicted entry goes silently (no RST towards a likely spoofed source).
bool stack::impl::evict_half_open(tcp_socket& listener, instant t) {
    if (listener.half_open == 0 || !cfg.syn_backlog_random_drop) return false;
    std::size_t pick = static_cast<std::size_t>(rng.next() % listener.half_open);
    tcp_socket* victim = nullptr;
    for (auto& c : connections) {
        if (c.parent != &listener || c.accept_hook.is_linked() || c.reap_queued) continue;
        victim = &c;
        if (pick-- == 0) break;
    }
    if (!victim) return false;
    ++stats.tcp.syn_backlog_evictions;
    victim->conn->drop(t);  // the closed event detaches it from the listener and queues the reap
    return listener.half_open < cfg.max_syn_backlog;
}

void stack::impl::on_connection_event(tcp::connection& c, std::uint8_t events) {
    auto* s = static_cast<tcp_socket*>(c.user_data);
    if (!s) return;
    using ev = tcp::connection_observer;
    if (events & ev::established) {
        if (s->parent) {
            --s->parent->half_open;
            s->parent->accept_queue.push_back(*s);
            notify(s->parent->slot, socket_event::readable);
        } else {
            notify(s->slot, socket_event::connected | socket_event::writable);
        }
    }
    if (events & ev::readable) notify(s->slot, socket_event::readable);
    if (events & ev::writable) notify(s->slot, socket_event::writable);
    if (events & ev::retransmit_trouble) {
        // RFC 9293 MUST-20 / RFC 1122 4.2.3.5: R1 reached, negative advice to IP.
        const ip::address& remote = c.tuple().remote.address;
        if (remote.is_v6())
            nd_negative_advice(*this, remote.to_v6(), now);
        else
            arp_negative_advice(*this, remote.to_v4(), now);
    }
    if (events & ev::closed) {
        if (s->parent) {
            if (s->accept_hook.is_linked())
                s->parent->accept_queue.erase(s->parent->accept_queue.iterator_to(*s));
            else
                --s->parent->half_open;  // died in SYN-RECEIVED
            s->parent = nullptr;
        }
        s->error = to_errc(c.last_error());
        notify(s->slot, socket_event::readable | socket_event::writable | socket_event::closed);
        if (!s->user_owned && !s->reap_queued) {
            s->reap_queued = true;
            reap_queue.push_back(s);
        }
    }
}

// TIME-WAIT apart from the socket budget (Linux's tcp_max_tw_buckets): an orphan that reached
// TIME-WAIT no longer counts against max_tcp_sockets, and the TIME-WAIT ones are bounded on
// their own, the oldest dropped past the bound. RFC 9293 §3.4.2's 2 MSL wait is a safeguard
// against old duplicates, not a reason to refuse new connections.
void stack::impl::note_time_wait(tcp_socket& s) {
    if (s.user_owned || s.in_time_wait_budget || s.reap_queued || !s.conn ||
        s.conn->current_state() != tcp::state::time_wait)
        return;
    s.in_time_wait_budget = true;
    s.time_wait_since = now;
    ++time_wait_count;
    time_waits.push_back(s);
    while (time_waits.size() > cfg.max_time_wait) {
        tcp_socket& oldest = time_waits.front();
        time_waits.pop_front();  // still counted in time_wait_count until it is reaped
        ++stats.tcp.time_wait_overflows;
        oldest.conn->drop(now);  // CLOSED, silently: the closed event queues the reap
    }
}

tcp_socket* stack::impl::reusable_time_wait(const ip::four_tuple& tuple) {
    auto it = connections.find(tuple);
    if (it == connections.end()) return nullptr;
    tcp_socket& s = *it;
    if (!s.time_wait_hook.is_linked() || now - s.time_wait_since < std::chrono::seconds{1}) return nullptr;
    // RFC 7323 §5 (PAWS) guards the new connection against the old one's duplicates: only
    // when the old one used timestamps (the new one's TSval, from the same per-tuple offset,
    // is then above anything the old one sent).
    return s.conn->info().timestamps ? &s : nullptr;
}

void stack::impl::touch(tcp_socket& s) {
    const instant d = s.conn ? s.conn->earliest_timer() : instant::max();
    if (s.timer_hook.is_linked()) {
        // Lazy re-arming: most touches push a deadline later (every ACK restarts the RTO), and
        // an entry that fires early costs one on_timer() that finds nothing due, then lands
        // here again. Only an earlier deadline must move the entry (a multiset re-insert per
        // segment was 5% of a bulk transfer's instructions).
        if (d != instant::max() && s.deadline <= d) return;  // no timer at all: unlink now
        timers.erase(timers.iterator_to(s));
    }
    if (d != instant::max()) {
        s.deadline = d;
        timers.insert(s);
    }
}

void stack::impl::tcp_poll(instant t) {
    // Collect first: firing a timer re-inserts the socket, possibly still due.
    due_timers.clear();
    for (auto it = timers.begin(); it != timers.end() && it->deadline <= t; ++it) due_timers.push_back(&*it);
    for (tcp_socket* s : due_timers) {
        if (s->timer_hook.is_linked()) timers.erase(timers.iterator_to(*s));  // fired: touch re-arms
        if (s->reap_queued || !s->conn) continue;
        s->conn->on_timer(t);
        touch(*s);
    }
}

void stack::impl::release_tcp(tcp_socket& s) {
    if (s.timer_hook.is_linked()) timers.erase(timers.iterator_to(s));
    if (s.tuple_hook.is_linked()) connections.erase(connections.iterator_to(s));
    if (s.time_wait_hook.is_linked()) time_waits.erase(time_waits.iterator_to(s));
    if (s.in_time_wait_budget) --time_wait_count;
    if (s.accept_hook.is_linked() && s.parent) s.parent->accept_queue.erase(s.parent->accept_queue.iterator_to(s));
    if (s.parent && !s.accept_hook.is_linked() && s.conn && is_handshaking(s.conn->current_state()))
        --s.parent->half_open;
    s.parent = nullptr;
    // A listener's unaccepted children go with it (RFC 9293 §3.10.4: CLOSE in LISTEN).
    while (!s.accept_queue.empty()) {
        tcp_socket& child = s.accept_queue.front();
        s.accept_queue.pop_front();
        child.parent = nullptr;
        child.conn->abort(now);
        if (!child.reap_queued) {
            child.reap_queued = true;
            reap_queue.push_back(&child);
        }
    }
    // ... and so do its half-open ones (SYN-RECEIVED, not yet in the accept queue): they point at
    // the listener as their parent, which is about to be freed. (Found by fuzz_stack: a listener
    // closed with a SYN-RECEIVED child left the child's parent dangling; see
    // tests/fuzz/regressions/fuzz_stack/.)
    if (s.role == tcp_role::listener && s.half_open > 0) {
        std::vector<tcp_socket*> orphans;
        for (auto& c : connections)
            if (c.parent == &s) orphans.push_back(&c);
        for (tcp_socket* child : orphans) {
            child->parent = nullptr;
            child->conn->abort(now);
            if (!child->reap_queued) {
                child->reap_queued = true;
                reap_queue.push_back(child);
            }
        }
        s.half_open = 0;
    }
    if (s.role == tcp_role::listener) std::erase(listeners, &s);
    tcp_ports.remove(s.binding);
    --tcp_socket_count;
    if (s.conn) s.conn->user_data = nullptr;
    free_slot(s.slot);  // destroys s
}

void stack::impl::reap(instant) {
    // Sockets die only here, outside any connection's call stack.
    while (!reap_queue.empty()) {
        tcp_socket* s = reap_queue.back();
        reap_queue.pop_back();
        release_tcp(*s);
    }
}

// ---------------------------------------------------------------- façade

namespace {
tcp_socket* tcp_of(stack::impl& impl, socket_handle h) {
    auto* slot = impl.lookup(h, socket_kind::tcp);
    return slot ? slot->tcp.get() : nullptr;
}

}  // namespace

result<socket_handle> stack::tcp_open() {
    auto* s = impl_->new_tcp_socket();
    if (!s) return errc::no_buffer_space;
    return impl_->handle_of(s->slot);
}

errc stack::tcp_set_reuse_address(socket_handle h, bool on) {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    s->reuse_address = on;
    s->binding.reuse_address = on;
    return errc::success;
}

errc stack::tcp_bind(socket_handle h, const ip::endpoint& local) {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->role != tcp_role::fresh) return errc::invalid_argument;
    if (!impl_->is_local_address(local.address)) return errc::address_not_available;
    if (auto e = impl_->check_bindable(local.port); e != errc::success) return e;
    ip::port_number port = local.port;
    if (port == 0) {
        port = impl_->pick_ephemeral_any(impl_->tcp_ports);
        if (port == 0) return errc::address_not_available;
    } else if (auto e = impl_->tcp_ports.check(local.address, port, s->reuse_address); e != errc::success) {
        return e;
    }
    s->local = ip::endpoint{local.address, port};
    s->binding.address = local.address;
    s->binding.port = port;
    s->binding.reuse_address = s->reuse_address;
    impl_->tcp_ports.add(s->binding);
    s->role = tcp_role::bound;
    return errc::success;
}

errc stack::tcp_listen(socket_handle h, std::uint32_t backlog) {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->role == tcp_role::fresh)
        if (auto e = tcp_bind(h, ip::endpoint{ip::address_v4::any(), 0}); e != errc::success) return e;
    if (s->role == tcp_role::listener) {
        s->backlog = std::max<std::uint32_t>(backlog, 1);
        return errc::success;
    }
    if (s->role != tcp_role::bound) return errc::invalid_argument;
    // Two sockets may share a port through reuse_address, but only one of them may listen.
    bool conflict = false;
    impl_->tcp_ports.for_each(s->local.port, [&](const port_binding& b) {
        if (&b != &s->binding && b.listening &&
            (b.address.is_unspecified() || s->local.address.is_unspecified() || b.address == s->local.address))
            conflict = true;
    });
    if (conflict) return errc::address_in_use;
    s->role = tcp_role::listener;
    s->binding.listening = true;
    s->backlog = std::max<std::uint32_t>(backlog, 1);
    impl_->listeners.push_back(s);
    return errc::success;
}

result<socket_handle> stack::tcp_accept(socket_handle listener, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* l = tcp_of(*impl_, listener);
    if (!l) return errc::bad_descriptor;
    if (l->role != tcp_role::listener) return errc::invalid_argument;
    if (l->accept_queue.empty()) return errc::would_block;
    tcp_socket& child = l->accept_queue.front();
    l->accept_queue.pop_front();
    child.parent = nullptr;
    child.user_owned = true;
    return impl_->handle_of(child.slot);
}

errc stack::tcp_connect(socket_handle h, const ip::endpoint& remote, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->role == tcp_role::connection) return errc::already_connected;
    if (s->role == tcp_role::listener) return errc::invalid_argument;
    // RFC 9293 MUST-46: no connection to a broadcast or multicast address.
    const bool v6 = remote.address.is_v6();
    if (remote.address.is_unspecified() || remote.port == 0 ||
        (v6 ? remote.address.to_v6().is_multicast()
            : (remote.address.to_v4().is_broadcast() || remote.address.to_v4().is_multicast() ||
               remote.address.to_v4() == impl_->cfg.ipv4.directed_broadcast())))
        return errc::invalid_argument;
    ip::address local_address{impl_->cfg.ipv4.addr};
    if (v6) {  // the bound IPv6 address, else the one whose scope fits the destination
        std::optional<ip::address_v6> src;
        if (s->local.address.is_v6() && !s->local.address.is_unspecified())
            src = s->local.address.to_v6();
        else
            src = ipv6_source_for(*impl_, remote.address.to_v6());
        if (!src) return errc::address_not_available;
        local_address = *src;
    }
    ip::port_number port = s->local.port;
    if (s->role == tcp_role::fresh) {
        port = impl_->pick_ephemeral_tcp(local_address, remote);
        if (port == 0) return errc::address_not_available;  // RFC 6056: the range is exhausted
    }
    const ip::four_tuple tuple{{local_address, port}, remote};
    if (impl_->connections.find(tuple) != impl_->connections.end()) {
        // Our own TIME-WAIT on this 4-tuple may give way (Linux's tcp_tw_reuse rule).
        tcp_socket* old = impl_->reusable_time_wait(tuple);
        if (!old) return errc::address_in_use;
        ++impl_->stats.tcp.time_wait_connect_reuses;
        impl_->release_tcp(*old);
    }
    impl_->tcp_ports.remove(s->binding);
    s->role = tcp_role::connection;
    s->local = tuple.local;
    s->conn.emplace(v6 ? impl_->tcp_v6 : impl_->cfg.tcp, impl_->stats.tcp, *impl_, *impl_);
    s->conn->user_data = s;
    s->conn->set_challenge_ack_limiter(&impl_->challenge_acks);
    if (s->no_delay) s->conn->set_no_delay(true);
    impl_->apply_buffer_sizes(*s);
    s->binding.address = local_address;
    s->binding.port = port;
    s->binding.conn = &*s->conn;
    s->conn->open_active(tuple, impl_->make_isn(tuple, now), impl_->make_ts_offset(tuple), now);
    s->tuple = tuple;
    impl_->connections.insert(*s);
    impl_->tcp_ports.add(s->binding);
    impl_->touch(*s);
    return errc::success;
}

result<std::size_t> stack::tcp_send(socket_handle h, bytes data, instant now) {
    const bytes pieces[1] = {data};
    return tcp_send(h, std::span<const bytes>{pieces}, now);
}

result<std::size_t> stack::tcp_send(socket_handle h, std::span<const bytes> pieces, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->role != tcp_role::connection) return errc::not_connected;
    if (s->error != errc::success) return s->error;
    const auto st = s->conn->current_state();
    if (is_handshaking(st)) return errc::would_block;
    if (!may_send_data(st)) return st == tcp::state::closed ? errc::not_connected : errc::shut_down;
    std::size_t total = 0;
    for (const bytes& p : pieces) total += p.size();
    const auto refusals = impl_->stats.tcp.buffer_memory_refusals;
    const std::size_t n = s->conn->send(pieces, now);
    impl_->touch(*s);
    if (n == 0 && total != 0) {
        // The stack-wide buffer budget (tcp::config::max_buffer_memory) is used up: the send
        // waits, and the socket is told writable when memory is freed anywhere.
        if (impl_->stats.tcp.buffer_memory_refusals != refusals && !s->memory_waiting) {
            s->memory_waiting = true;
            impl_->memory_waiters.push_back(h);
            ++impl_->stats.tcp.buffer_memory_waits;
            impl_->memory_waiters_seen_in_use = impl_->stats.tcp.buffer_bytes_in_use;
        }
        return errc::would_block;
    }
    return n;
}

result<std::size_t> stack::tcp_receive(socket_handle h, mutable_bytes out, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->role != tcp_role::connection) return errc::not_connected;
    const std::size_t n = s->conn->receive(out, now);
    impl_->touch(*s);
    if (n > 0 || out.empty()) return n;
    if (s->conn->eof()) return std::size_t{0};
    if (s->error != errc::success) return s->error;
    const auto st = s->conn->current_state();
    if (st == tcp::state::closed) return std::size_t{0};
    return errc::would_block;
}

errc stack::tcp_shutdown_send(socket_handle h, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->role != tcp_role::connection) return errc::not_connected;
    s->conn->shutdown_send(now);
    impl_->touch(*s);
    return errc::success;
}

void stack::tcp_close(socket_handle h, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* s = tcp_of(*impl_, h);
    if (!s) return;
    auto& slot = impl_->slots[s->slot];
    if (s->role != tcp_role::connection) {
        impl_->release_tcp(*s);
        return;
    }
    // The handle dies now; the connection lingers until it reaches CLOSED, then is reaped.
    ++slot.generation;
    slot.waiter = nullptr;
    s->user_owned = false;
    if (s->conn->current_state() == tcp::state::closed) {
        if (!s->reap_queued) {
            s->reap_queued = true;
            impl_->reap_queue.push_back(s);
        }
        return;
    }
    s->conn->close(now);
    impl_->touch(*s);
    impl_->note_time_wait(*s);  // closed in TIME-WAIT: an orphan now
}

void stack::tcp_abort(socket_handle h, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* s = tcp_of(*impl_, h);
    if (!s) return;
    if (s->role != tcp_role::connection) {
        impl_->release_tcp(*s);
        return;
    }
    auto& slot = impl_->slots[s->slot];
    ++slot.generation;
    slot.waiter = nullptr;
    s->user_owned = false;
    if (s->conn->current_state() != tcp::state::closed) s->conn->abort(now);
    if (!s->reap_queued) {
        s->reap_queued = true;
        impl_->reap_queue.push_back(s);
    }
}

void stack::impl::apply_buffer_sizes(tcp_socket& s) {
    if (!s.conn) return;
    if (s.send_buffer != 0) s.conn->set_send_buffer_size(s.send_buffer);
    if (s.receive_buffer != 0) s.conn->set_receive_buffer_size(s.receive_buffer);
}

void stack::impl::wake_memory_waiters() {
    // Only when memory was freed since the last one went to sleep, and a ring's first piece fits.
    const std::uint64_t in_use = stats.tcp.buffer_bytes_in_use;
    const std::uint64_t least = std::min(cfg.tcp.send_buffer_initial, cfg.tcp.send_buffer_size);
    if (in_use >= memory_waiters_seen_in_use || in_use + least > cfg.tcp.max_buffer_memory) return;
    std::vector<socket_handle> waking;
    waking.swap(memory_waiters);
    for (socket_handle h : waking) {
        auto* slot = lookup(h, socket_kind::tcp);
        if (!slot || !slot->tcp) continue;
        slot->tcp->memory_waiting = false;
        notify(h.slot, socket_event::writable);
    }
    waking.clear();
    if (memory_waiters.empty()) memory_waiters.swap(waking);  // keep the capacity
}

errc stack::tcp_set_send_buffer_size(socket_handle h, std::size_t size) {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (size == 0 || size > 0x40000000u) return errc::invalid_argument;
    s->send_buffer = static_cast<std::uint32_t>(size);
    impl_->apply_buffer_sizes(*s);
    return errc::success;
}

errc stack::tcp_set_receive_buffer_size(socket_handle h, std::size_t size) {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (size == 0 || size > 0x40000000u) return errc::invalid_argument;
    s->receive_buffer = static_cast<std::uint32_t>(size);
    impl_->apply_buffer_sizes(*s);
    return errc::success;
}

result<std::size_t> stack::tcp_send_buffer_size(socket_handle h) const {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->conn) return std::size_t{s->conn->send_buffer_size()};
    return std::size_t{s->send_buffer != 0 ? s->send_buffer : impl_->cfg.tcp.send_buffer_size};
}

result<std::size_t> stack::tcp_receive_buffer_size(socket_handle h) const {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->conn) return std::size_t{s->conn->receive_buffer_size()};
    return std::size_t{s->receive_buffer != 0 ? s->receive_buffer : impl_->cfg.tcp.receive_buffer_size};
}

errc stack::tcp_set_no_delay(socket_handle h, bool on) {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (s->conn) s->conn->set_no_delay(on);
    s->no_delay = on;
    return errc::success;
}

errc stack::tcp_set_keep_alive(socket_handle h, bool on, instant now) {
    now = impl_->call_instant(now);
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (!s->conn) return errc::not_connected;
    s->conn->set_keep_alive(on, now);
    impl_->touch(*s);
    return errc::success;
}

errc stack::tcp_set_user_timeout(socket_handle h, duration timeout, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    if (!s->conn) return errc::not_connected;
    if (timeout < duration{}) return errc::invalid_argument;
    s->conn->set_user_timeout(timeout);
    impl_->touch(*s);  // the retransmission timer may now be due earlier
    return errc::success;
}

errc stack::tcp_error(socket_handle h) const noexcept {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    return s->error;
}

namespace {
tcp_socket_info info_of(const tcp_socket& s) {
    tcp_socket_info i;
    i.local = s.local;
    if (s.role == tcp_role::listener) {
        i.state = tcp::state::listen;
        i.recv_q = s.accept_queue.size();
        i.send_q = s.backlog;
    } else if (s.conn) {
        i.state = s.conn->current_state();
        i.remote = s.conn->tuple().remote;
        i.recv_q = s.conn->bytes_readable();
        i.send_q = s.conn->bytes_unacknowledged();
        i.send_buffer_bytes = s.conn->send_ring_capacity();
        i.receive_buffer_bytes = s.conn->receive_ring_capacity();
        if (const auto soft = s.conn->soft_error(); soft != tcp::error::none) i.soft_error = to_errc(soft);
    }
    return i;
}
}  // namespace

result<tcp_socket_info> stack::tcp_info(socket_handle h) const {
    auto* s = tcp_of(*impl_, h);
    if (!s) return errc::bad_descriptor;
    return info_of(*s);
}

void stack::for_each_tcp(const std::function<void(const tcp_socket_info&)>& fn) const {
    for (const auto& slot : impl_->slots)
        if (slot.kind == socket_kind::tcp && slot.tcp && slot.tcp->role != tcp_role::fresh) fn(info_of(*slot.tcp));
}

void stack::set_waiter(socket_handle h, socket_waiter* waiter) noexcept {
    if (h.slot >= impl_->slots.size()) return;
    auto& s = impl_->slots[h.slot];
    if (s.kind == socket_kind::free || s.generation != h.generation) return;
    s.waiter = waiter;
}

}  // namespace tapstack
