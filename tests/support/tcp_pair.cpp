#include "tcp_pair.hpp"

#include <algorithm>

namespace tapstack::testing {

namespace {
ip::four_tuple tuple_a() {
    return {ip::endpoint{ip::address_v4{10, 0, 0, 1}, 40000}, ip::endpoint{ip::address_v4{10, 0, 0, 2}, 80}};
}
ip::four_tuple tuple_b() {
    return {ip::endpoint{ip::address_v4{10, 0, 0, 2}, 80}, ip::endpoint{ip::address_v4{10, 0, 0, 1}, 40000}};
}
}  // namespace

owned_segment::owned_segment(const wire::tcp_segment& s, instant when)
    : seg{s}, data{s.payload.begin(), s.payload.end()}, at{when} {
    fix();
}

tcp_endpoint::tcp_endpoint(tcp_pair& pair, int index, const tcp::config& c, const ip::four_tuple& t)
    : cfg{c}, conn{cfg, stats, *this, *this}, tuple{t}, pair_{pair}, index_{index} {}

bool tcp_endpoint::saw_event(std::uint8_t mask) const {
    return std::any_of(events.begin(), events.end(), [&](std::uint8_t e) { return (e & mask) != 0; });
}

void tcp_endpoint::send_segment(const ip::four_tuple&, const wire::tcp_segment& seg) {
    // The harness stands in for the socket layer, which counts segments at the wire.
    ++stats.out_segs;
    if (seg.flags.rst) ++stats.out_rsts;
    sent.emplace_back(seg, pair_.now());
    pair_.enqueue(index_, seg);
}

void tcp_endpoint::on_connection_event(tcp::connection&, std::uint8_t e) { events.push_back(e); }

void tcp_endpoint::pump(instant now) {
    if (!to_send.empty()) {
        const std::size_t n = conn.send(bytes{to_send.data(), to_send.size()}, now);
        to_send.erase(to_send.begin(), to_send.begin() + static_cast<std::ptrdiff_t>(n));
        total_sent_by_app += n;
    }
    if (close_when_sent && to_send.empty()) {
        close_when_sent = false;
        conn.shutdown_send(now);
    }
    if (auto_read) {
        std::byte buf[8192];
        for (;;) {
            const std::size_t n = conn.receive(mutable_bytes{buf, sizeof buf}, now);
            if (n == 0) break;
            received.insert(received.end(), buf, buf + n);
        }
    }
}

tcp_pair::tcp_pair(const tcp::config& a_cfg, const tcp::config& b_cfg, duration delay) : delay_{delay} {
    a_storage_.emplace(*this, 0, a_cfg, tuple_a());
    b_storage_.emplace(*this, 1, b_cfg, tuple_b());
    a_ = &*a_storage_;
    b_ = &*b_storage_;
}

void tcp_pair::set_faults(const fault_model& f) {
    faults_ = f;
    rng_ = random_source{f.seed};
}

void tcp_pair::connect(tcp::seq_number iss_a, tcp::seq_number iss_b) {
    b_iss = iss_b;
    a_->conn.open_active(a_->tuple, iss_a, ts_offset_a, now_);
}

void tcp_pair::open_simultaneous(tcp::seq_number iss_a, tcp::seq_number iss_b) {
    b_listening = false;
    a_->conn.open_active(a_->tuple, iss_a, ts_offset_a, now_);
    b_->conn.open_active(b_->tuple, iss_b, ts_offset_b, now_);
}

void tcp_pair::enqueue(int from, const wire::tcp_segment& s) {
    if (from == 0 && !deliver_a_to_b) return;
    if (from == 1 && !deliver_b_to_a) return;
    if (drop_if && drop_if(from, s)) {
        ++dropped;
        return;
    }
    const int to = 1 - from;
    instant at = now_ + delay_;
    int copies = 1;
    if (faults_) {
        if (rng_.chance(faults_->drop)) {
            ++dropped;
            return;
        }
        if (rng_.chance(faults_->corrupt)) {
            ++corrupted;  // the receiver's checksum check discards it
            return;
        }
        if (rng_.chance(faults_->duplicate)) {
            ++duplicated;
            copies = 2;
        }
        if (rng_.chance(faults_->reorder)) {
            ++reordered;
            at += faults_->reorder_delay;
        }
    }
    for (int i = 0; i < copies; ++i) queue_.push_back(in_flight{at, order_++, to, owned_segment{s, now_}});
}

void tcp_pair::deliver(int to, const wire::tcp_segment& s) {
    ++delivered;
    tcp_endpoint& e = to == 0 ? *a_ : *b_;
    ++e.stats.in_segs;
    if (to == 1 && b_listening && e.conn.current_state() == tcp::state::closed && s.flags.syn && !s.flags.ack &&
        !s.flags.rst) {
        b_listening = false;
        e.conn.open_passive(e.tuple, s, b_iss, ts_offset_b, now_);
    } else {
        e.conn.on_segment(s, now_);
    }
    pump();
}

void tcp_pair::inject_to_a(const wire::tcp_segment& s) { deliver(0, s); }
void tcp_pair::inject_to_b(const wire::tcp_segment& s) { deliver(1, s); }

std::optional<instant> tcp_pair::next_event() const {
    std::optional<instant> t;
    for (const auto& f : queue_)
        if (!t || f.at < *t) t = f.at;
    for (auto* e : {a_, b_})
        if (auto d = e->conn.deadline(); d && (!t || *d < *t)) t = d;
    return t;
}

bool tcp_pair::step() {
    pump();
    const auto t = next_event();
    if (!t) return false;
    if (*t > now_) now_ = *t;
    // Deliveries first (in send order), then timers that are due.
    auto it = std::min_element(queue_.begin(), queue_.end(), [](const in_flight& x, const in_flight& y) {
        return x.at < y.at || (x.at == y.at && x.order < y.order);
    });
    if (it != queue_.end() && it->at <= now_) {
        in_flight f = std::move(*it);
        queue_.erase(it);
        deliver(f.to, f.seg.seg);
        return true;
    }
    for (auto* e : {a_, b_}) {
        if (auto d = e->conn.deadline(); d && *d <= now_) {
            e->conn.on_timer(now_);
            pump();
        }
    }
    return true;
}

bool tcp_pair::run_until(const std::function<bool()>& pred, duration limit) {
    const instant end = now_ + limit;
    pump();
    while (!pred()) {
        const auto t = next_event();
        if (!t || *t > end) return false;
        step();
    }
    return true;
}

void tcp_pair::advance(duration d) {
    const instant end = now_ + d;
    pump();
    for (;;) {
        const auto t = next_event();
        if (!t || *t > end) break;
        step();
    }
    now_ = end;
    pump();
}

void tcp_pair::pump() {
    a_->pump(now_);
    b_->pump(now_);
}

wire::tcp_segment make_segment(bool a_to_b, tcp::seq_number seq, std::optional<tcp::seq_number> ack,
                               wire::tcp_flags flags, std::uint16_t window, bytes payload) {
    wire::tcp_segment s;
    s.source_port = a_to_b ? 40000 : 80;
    s.destination_port = a_to_b ? 80 : 40000;
    s.seq = seq;
    if (ack) {
        s.ack = *ack;
        flags.ack = true;
    }
    s.flags = flags;
    s.window = window;
    s.payload = payload;
    return s;
}

wire::tcp_flags flags_of(std::string_view letters) {
    wire::tcp_flags f;
    for (char c : letters) {
        switch (c) {
        case 'S': f.syn = true; break;
        case 'A': f.ack = true; break;
        case 'F': f.fin = true; break;
        case 'R': f.rst = true; break;
        case 'P': f.psh = true; break;
        case 'U': f.urg = true; break;
        default: break;
        }
    }
    return f;
}

}  // namespace tapstack::testing
