#pragma once
// The receive side of a connection: the receive sequence space (RFC 9293 §3.3.1), the receive
// ring with the out-of-order bytes held at their place, the window we advertise (RFC 9293
// §3.8.6.2.2 receiver SWS avoidance, RFC 7323 §2 scaling), and when an ACK is due (RFC 1122
// 4.2.3.2, RFC 5681 §4.2 delayed ACKs).
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <tapstack/base/bytes.hpp>
#include <tapstack/tcp/config.hpp>
#include <tapstack/tcp/range_set.hpp>
#include <tapstack/tcp/ring_buffer.hpp>
#include <tapstack/wire/seq_number.hpp>
#include <tapstack/wire/tcp.hpp>

namespace tapstack::tcp {

struct receive_side {
    seq_number irs, nxt;
    seq_number adv;  // right edge last advertised (never moves left)
    ring_buffer buf;
    std::uint32_t limit = 0;  // receive window bound (the ring has slack for scaling round-up)
    std::uint8_t wscale = 0;  // our shift (RFC 7323 §2.2)
    range_set<16> ooo;  // out-of-order bytes held in the ring past its end
    std::uint64_t ooo_stamp = 0;
    std::optional<seq_number> ooo_fin;  // a FIN that arrived ahead of a hole
    bool fin_received = false;
    std::uint32_t unacked = 0;  // bytes received since our last ACK
    std::uint32_t seg_est = 536;  // largest segment seen: what "full-sized" means inbound
    // The stack's buffer memory (tcp_stats::buffer_bytes_in_use) and its budget: near it the
    // window stops opening, since the ring could not grow to take what it would let in. Unset
    // (a receive_side on its own, in tests): no bound.
    const std::uint64_t* memory_in_use = nullptr;
    std::uint64_t memory_budget = 0;

    /// A connection opens: nothing received; our window shift from `buffer`, the most the
    /// receive ring may hold (RFC 7323 §2.3: chosen once, for the largest the ring may grow to).
    void reset(const config& cfg, std::uint32_t buffer) noexcept;
    void reset(const config& cfg) noexcept { reset(cfg, cfg.receive_buffer_size); }
    /// Once options are known (RFC 7323 §2.2: scaling only if both sides offered it). Also when
    /// the application sets a new size: `buffer` is bounded by what our shift can express.
    void negotiated(bool window_scaling, std::uint32_t buffer) noexcept;
    /// The bytes the window may offer past RCV.NXT now: the window bound less what the ring
    /// holds, and no more than the ring can take as it is plus what the stack's buffer budget
    /// still lets it grow by (memory pressure closes the window for new data; the right edge
    /// never moves left, see candidate_edge).
    std::uint32_t offerable() const noexcept;
    /// The ring's size: the window bound plus one scaling unit of round-up slack.
    std::size_t capacity() const noexcept { return std::size_t{limit} + (std::size_t{1} << wscale); }
    /// The peer's SYN at `seq` was taken: RCV.NXT follows it.
    void take_syn(seq_number seq) noexcept {
        irs = seq;
        nxt = seq + 1;
        adv = nxt;
    }

    /// RCV.WND as last advertised (the right edge never moves left, RCV.NXT may pass it).
    std::uint32_t window() const noexcept {
        const std::int32_t w = adv - nxt;
        return w > 0 ? static_cast<std::uint32_t>(w) : 0;
    }
    /// The right edge we could offer now, with receiver SWS avoidance (RFC 9293 §3.8.6.2.2): the
    /// edge moves only by at least min(buffer/2, MSS).
    seq_number candidate_edge(std::uint32_t mss) const noexcept;
    /// The window field for a non-SYN segment; records the new right edge. Never shrinks the
    /// window's right edge (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4): scaled values are rounded up.
    std::uint16_t advertise(std::uint32_t mss) noexcept;
    /// After the application read: is the window update worth an ACK of its own?
    /// (RFC 9293 §3.8.6.2.2 / RFC 1122 4.2.3.3: the edge must grow by >= 2*MSS or half the buffer,
    /// and only when the peer is nearly window-limited; otherwise the next ACK carries it.)
    bool window_update_due(std::uint32_t mss) const noexcept;

    /// RFC 9293 §3.10.7.4 first check, the four cases of segment acceptability.
    bool acceptable(seq_number seq, std::uint32_t seg_len) const noexcept;
    /// Cuts `seg` to the window: bytes before RCV.NXT (a SYN there goes too) and past the right
    /// edge (a FIN there goes too). `zero_window_ack`: only its ACK is processed, text and FIN go.
    void trim_to_window(wire::tcp_segment& seg, bool zero_window_ack) const noexcept;

    /// What place() did with a segment's text.
    enum class placed : std::uint8_t {
        in_order,  // appended at RCV.NXT (with any out-of-order ranges it now reaches)
        filled_hole,  // in order, and the peer had left holes: ACK at once (RFC 5681 §4.2)
        out_of_order,  // held at its place past RCV.NXT
        duplicate,  // out of order, every byte already held
        over_limit,  // out of order, dropped: config.max_out_of_order_bytes
        no_slot,  // out of order, dropped: the range set is full
        past_ring,  // dropped: beyond the ring (the window never allows it)
    };
    /// Text processing (RFC 9293 §3.10.7.4 seventh check) for a segment trimmed to the window,
    /// into a ring already allocated. `mss` is ours, `max_ooo` the out-of-order bound.
    placed place(seq_number seq, bytes payload, std::uint32_t mss, std::uint32_t max_ooo) noexcept;
    /// Fills RFC 2018 SACK blocks: the block holding the newest segment first (§4), then the
    /// others newest first; 3 fit beside timestamps, 4 without.
    void add_sack_blocks(wire::tcp_options& o, bool timestamps) const noexcept;

    /// When the ACK for what arrived is due.
    enum class ack_due : std::uint8_t { none, now, end_of_batch, delayed };
    ack_due ack_policy(bool now_please, const config& cfg) const noexcept;
    /// An ACK carrying RCV.NXT went out.
    void acked() noexcept { unacked = 0; }
};

namespace detail_rcv {
constexpr std::uint32_t u32(std::size_t v) noexcept { return static_cast<std::uint32_t>(v); }
/// a - b for a >= b in sequence space.
constexpr std::uint32_t dist(seq_number a, seq_number b) noexcept { return static_cast<std::uint32_t>(a - b); }
}  // namespace detail_rcv

// The functions of the per-segment path are inline: they were inlined into segment arrival
// before the connection was split, and must stay as cheap.

inline std::uint32_t receive_side::offerable() const noexcept {
    std::uint32_t free = limit > buf.size() ? limit - detail_rcv::u32(buf.size()) : 0;
    if (memory_in_use != nullptr) {
        const std::uint64_t left = memory_budget > *memory_in_use ? memory_budget - *memory_in_use : 0;
        const std::uint64_t room = std::uint64_t{buf.capacity() - buf.size()} + left;
        if (room < free) free = static_cast<std::uint32_t>(room);
    }
    return free;
}

inline seq_number receive_side::candidate_edge(std::uint32_t mss) const noexcept {
    const std::uint32_t free = offerable();
    const seq_number edge = nxt + free;
    const std::uint32_t step = std::min<std::uint32_t>(limit / 2, mss);
    if (edge > adv && detail_rcv::dist(edge, adv) >= step) return edge;
    return seq_max(adv, nxt);
}

inline std::uint16_t receive_side::advertise(std::uint32_t mss) noexcept {
    const seq_number edge = candidate_edge(mss);
    std::uint32_t wnd = detail_rcv::dist(edge, nxt);
    std::uint32_t field = (wnd + (1u << wscale) - 1) >> wscale;
    field = std::min<std::uint32_t>(field, 65535);
    adv = seq_max(adv, nxt + (field << wscale));
    return static_cast<std::uint16_t>(field);
}

inline bool receive_side::acceptable(seq_number seq, std::uint32_t seg_len) const noexcept {
    const std::uint32_t wnd = window();
    if (seg_len == 0) return wnd == 0 ? seq == nxt : seq_in_range(seq, nxt, nxt + wnd);
    if (wnd == 0) return false;
    return seq_in_range(seq, nxt, nxt + wnd) || seq_in_range(seq + seg_len - 1, nxt, nxt + wnd);
}

inline void receive_side::trim_to_window(wire::tcp_segment& seg, bool zero_window_ack) const noexcept {
    if (seg.seq < nxt) {
        std::uint32_t cut = detail_rcv::dist(nxt, seg.seq);
        if (seg.flags.syn) {
            seg.flags.syn = false;
            --cut;
            seg.seq += 1;
        }
        cut = std::min<std::uint32_t>(cut, detail_rcv::u32(seg.payload.size()));
        seg.payload = seg.payload.subspan(cut);
        seg.seq += cut;
        if (seg.seq < nxt) {  // the FIN itself was a duplicate
            seg.flags.fin = false;
            seg.seq = nxt;
        }
    }
    if (zero_window_ack) {
        seg.payload = {};
        seg.flags.fin = false;
        return;
    }
    const seq_number edge = nxt + window();
    if (seg.seq + detail_rcv::u32(seg.payload.size()) > edge) {
        seg.payload = seg.payload.first(detail_rcv::dist(edge, seg.seq));
        seg.flags.fin = false;
    }
}

inline receive_side::placed receive_side::place(seq_number seq, bytes payload, std::uint32_t mss,
                                                std::uint32_t max_ooo) noexcept {
    const std::uint32_t off = detail_rcv::dist(seq, nxt);
    // Defensive: never past the ring (the window already guarantees it).
    const std::size_t room = buf.capacity() - buf.size();
    if (off >= room) return placed::past_ring;
    if (off + payload.size() > room) payload = payload.first(room - off);
    // A TSO/GRO super-segment counts as many full-sized ones: nothing larger than our MSS
    // is "full-sized", so it is ACKed at once (RFC 5681 §4.2: an ACK per two full-sized).
    seg_est = std::max(seg_est, std::min(detail_rcv::u32(payload.size()), mss));
    if (off == 0) {
        const bool had_holes = !ooo.empty();
        buf.write_at(buf.size(), payload);
        buf.commit(payload.size());
        nxt += detail_rcv::u32(payload.size());
        // Pull any out-of-order ranges that now touch RCV.NXT.
        while (!ooo.empty() && ooo[0].left <= nxt) {
            if (nxt < ooo[0].right) {
                const std::uint32_t n = detail_rcv::dist(ooo[0].right, nxt);
                buf.commit(n);
                nxt += n;
            }
            ooo.remove_below(nxt);
        }
        unacked += detail_rcv::u32(payload.size());
        return had_holes ? placed::filled_hole : placed::in_order;
    }
    // Out of order: hold it in the ring at its place, bounded (config.max_out_of_order_bytes).
    const seq_number l = seq, r = seq + detail_rcv::u32(payload.size());
    const std::uint32_t fresh = detail_rcv::u32(payload.size()) - ooo.covered(l, r);
    if (fresh == 0) return placed::duplicate;
    if (ooo.total() + fresh > max_ooo) return placed::over_limit;
    if (!ooo.add(l, r, ++ooo_stamp)) return placed::no_slot;  // the peer retransmits
    buf.write_at(buf.size() + off, payload);
    return placed::out_of_order;
}

inline void receive_side::add_sack_blocks(wire::tcp_options& o, bool timestamps) const noexcept {
    if (ooo.empty()) return;
    const std::size_t max_blocks = timestamps ? 3 : 4;
    std::array<const seq_range*, 16> order{};
    std::size_t n = 0;
    for (const auto& r : ooo) order[n++] = &r;
    std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
              [](const seq_range* a, const seq_range* b) { return a->stamp > b->stamp; });
    for (std::size_t i = 0; i < n && i < max_blocks; ++i)
        o.sack[o.sack_count++] = wire::sack_block{order[i]->left, order[i]->right};
}

inline receive_side::ack_due receive_side::ack_policy(bool now_please, const config& cfg) const noexcept {
    if (now_please || cfg.delayed_ack <= duration{} || unacked >= std::max(2u, cfg.stretch_ack_segments) * seg_est)
        return ack_due::now;
    // RFC 1122 4.2.3.2 / RFC 5681 §4.2: ACK at least every second full-sized segment.
    // Segments that arrive together (one wakeup of the link, one batch of receive()
    // calls) get one ACK when the batch ends (the stack's poll at this instant), as
    // Linux's GRO makes one ACK of a burst; cfg.stretch_ack_segments bounds the stretch.
    if (unacked >= 2 * seg_est) return ack_due::end_of_batch;
    if (unacked > 0) return ack_due::delayed;
    return ack_due::none;
}

}  // namespace tapstack::tcp
