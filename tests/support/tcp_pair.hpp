#pragma once
// Two tcp::connection objects joined by segment queues on a virtual clock: the TCP unit-test
// harness. Segments are copied into owned storage when queued; an optional seeded fault model
// drops, duplicates, reorders or corrupts them; any side can be cut off from the link so tests
// capture what it sends and inject hand-made segments instead.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>
#include <tapstack/base/random.hpp>
#include <tapstack/tcp/connection.hpp>

namespace tapstack::testing {

/// A tcp_segment that owns its payload (copy and move keep `seg.payload` pointing at `data`).
struct owned_segment {
    owned_segment() = default;
    explicit owned_segment(const wire::tcp_segment& s, instant when = {});
    owned_segment(const owned_segment& o) : seg{o.seg}, data{o.data}, at{o.at} { fix(); }
    owned_segment(owned_segment&& o) noexcept : seg{o.seg}, data{std::move(o.data)}, at{o.at} { fix(); }
    owned_segment& operator=(const owned_segment& o) {
        seg = o.seg;
        data = o.data;
        at = o.at;
        fix();
        return *this;
    }
    owned_segment& operator=(owned_segment&& o) noexcept {
        seg = o.seg;
        data = std::move(o.data);
        at = o.at;
        fix();
        return *this;
    }
    wire::tcp_segment seg;
    std::vector<std::byte> data;
    instant at{};  // when it was sent
    std::string payload_string() const { return {reinterpret_cast<const char*>(data.data()), data.size()}; }

private:
    void fix() noexcept { seg.payload = bytes{data.data(), data.size()}; }
};

/// Segment-level faults, drawn from a seeded generator so every run replays.
struct fault_model {
    double drop = 0;
    double duplicate = 0;
    double reorder = 0;  // held back by reorder_delay, so later segments overtake it
    double corrupt = 0;  // a corrupted segment fails the receiver's checksum: it never arrives
    duration reorder_delay = std::chrono::milliseconds{15};
    std::uint64_t seed = 1;
};

class tcp_pair;

/// One side: a connection, its counters, everything it sent, its observer events and an
/// application that writes `to_send` and reads into `received`.
class tcp_endpoint final : public tcp::segment_sink, public tcp::connection_observer {
public:
    tcp_endpoint(tcp_pair& pair, int index, const tcp::config& cfg, const ip::four_tuple& tuple);
    tcp::config cfg;
    tcp::tcp_stats stats;
    tcp::connection conn;
    ip::four_tuple tuple;

    std::vector<owned_segment> sent;  // every segment it emitted, in order
    std::vector<std::uint8_t> events;  // observer event masks, in order
    std::vector<std::byte> received;  // what the application read
    std::vector<std::byte> to_send;  // what the application still has to write
    bool auto_read = true;
    bool close_when_sent = false;  // shutdown_send once to_send has all been accepted
    std::size_t total_sent_by_app = 0;

    void queue_send(bytes data) { to_send.insert(to_send.end(), data.begin(), data.end()); }
    void queue_send(std::string_view s) { queue_send(as_bytes_of(s)); }
    std::string received_string() const { return {reinterpret_cast<const char*>(received.data()), received.size()}; }
    bool saw_event(std::uint8_t mask) const;
    /// Segments sent since index `from` (tests take `sent.size()` as a mark first).
    std::vector<owned_segment> sent_since(std::size_t from) const {
        return {sent.begin() + static_cast<std::ptrdiff_t>(from), sent.end()};
    }
    void pump(instant now);  // the application: write what fits, read what is there

    void send_segment(const ip::four_tuple& t, const wire::tcp_segment& seg) override;
    void on_connection_event(tcp::connection& c, std::uint8_t e) override;

private:
    tcp_pair& pair_;
    int index_;
};

class tcp_pair {
public:
    /// Side a is 10.0.0.1:40000, side b is 10.0.0.2:80; one-way delay `delay` each way.
    explicit tcp_pair(const tcp::config& a_cfg = {}, const tcp::config& b_cfg = {},
                      duration delay = std::chrono::milliseconds{5});
    tcp_pair(const tcp_pair&) = delete;
    tcp_pair& operator=(const tcp_pair&) = delete;

    tcp_endpoint& a() { return *a_; }
    tcp_endpoint& b() { return *b_; }
    instant now() const { return now_; }

    void set_faults(const fault_model& f);
    /// Active open from a; b opens passively (like a listener) when a SYN reaches it.
    void connect(tcp::seq_number iss_a = tcp::seq_number{1000}, tcp::seq_number iss_b = tcp::seq_number{5000});
    /// Both sides open actively at once (RFC 9293 §3.5 figure 7).
    void open_simultaneous(tcp::seq_number iss_a, tcp::seq_number iss_b);
    bool b_listening = true;
    tcp::seq_number b_iss{5000};
    std::uint32_t ts_offset_a = 100, ts_offset_b = 7000;

    /// When false, what that side sends is captured but never delivered (cut the wire).
    bool deliver_a_to_b = true, deliver_b_to_a = true;

    /// Drops the segments it returns true for (from: 0 = a, 1 = b), before the fault model.
    std::function<bool(int from, const wire::tcp_segment&)> drop_if;

    /// Hands a segment to a side at the current time (as if it just arrived).
    void inject_to_a(const wire::tcp_segment& s);
    void inject_to_b(const wire::tcp_segment& s);

    /// Runs the earliest pending event (delivery or timer); false when nothing is pending.
    bool step();
    /// Steps until `pred` holds (true) or virtual time passes `limit` / nothing is left (false).
    bool run_until(const std::function<bool()>& pred, duration limit = std::chrono::seconds{120});
    /// Runs everything due within the next `d`, then sets the clock to now + d.
    void advance(duration d);
    /// Both applications write and read.
    void pump();

    // Fault accounting
    std::uint64_t dropped = 0, duplicated = 0, reordered = 0, corrupted = 0, delivered = 0;

    void enqueue(int from, const wire::tcp_segment& s);  // called by the endpoints

private:
    struct in_flight {
        instant at;
        std::uint64_t order;
        int to;
        owned_segment seg;
    };
    void deliver(int to, const wire::tcp_segment& s);
    std::optional<instant> next_event() const;

    instant now_ = instant_from_us(1'000'000);
    duration delay_;
    std::optional<tcp_endpoint> a_storage_, b_storage_;
    tcp_endpoint* a_ = nullptr;
    tcp_endpoint* b_ = nullptr;
    std::vector<in_flight> queue_;
    std::uint64_t order_ = 0;
    std::optional<fault_model> faults_;
    random_source rng_{1};
};

/// Builds a segment for injection (ports match the pair's tuples: a_to_b picks the direction).
wire::tcp_segment make_segment(bool a_to_b, tcp::seq_number seq, std::optional<tcp::seq_number> ack,
                               wire::tcp_flags flags, std::uint16_t window, bytes payload = {});
wire::tcp_flags flags_of(std::string_view letters);  // "S", "SA", "A", "FA", "R", "RA", "PA"

}  // namespace tapstack::testing
