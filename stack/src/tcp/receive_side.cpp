// The receive side's rules: acceptability and trimming (RFC 9293 §3.10.7.4), reassembly, the
// advertised window (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4) and delayed ACKs (RFC 5681 §4.2).
#include "receive_side.hpp"

#include <algorithm>
#include <array>

namespace tapstack::tcp {

namespace {
constexpr std::uint32_t u32(std::size_t v) noexcept { return static_cast<std::uint32_t>(v); }
/// a - b for a >= b in sequence space.
constexpr std::uint32_t dist(seq_number a, seq_number b) noexcept { return static_cast<std::uint32_t>(a - b); }
}  // namespace

void receive_side::reset(const config& cfg) noexcept {
    irs = nxt = adv = seq_number{};
    ooo.clear();
    ooo_stamp = 0;
    ooo_fin.reset();
    fin_received = false;
    unacked = 0;
    seg_est = std::min<std::uint32_t>(cfg.mss, 536);
    // RFC 7323 §2.3: the smallest shift that lets the window field cover the buffer.
    wscale = 0;
    if (cfg.window_scaling)
        while (wscale < 14 && (std::uint64_t{65535} << wscale) < cfg.receive_buffer_size) ++wscale;
}

void receive_side::negotiated(bool window_scaling, std::uint32_t buffer) noexcept {
    if (!window_scaling) wscale = 0;
    limit = window_scaling ? buffer : std::min<std::uint32_t>(buffer, 65535);
}

seq_number receive_side::candidate_edge(std::uint32_t mss) const noexcept {
    const std::uint32_t free = limit > buf.size() ? limit - u32(buf.size()) : 0;
    const seq_number edge = nxt + free;
    const std::uint32_t step = std::min<std::uint32_t>(limit / 2, mss);
    if (edge > adv && dist(edge, adv) >= step) return edge;
    return seq_max(adv, nxt);
}

std::uint16_t receive_side::advertise(std::uint32_t mss) noexcept {
    const seq_number edge = candidate_edge(mss);
    std::uint32_t wnd = dist(edge, nxt);
    std::uint32_t field = (wnd + (1u << wscale) - 1) >> wscale;
    field = std::min<std::uint32_t>(field, 65535);
    adv = seq_max(adv, nxt + (field << wscale));
    return static_cast<std::uint16_t>(field);
}

bool receive_side::window_update_due(std::uint32_t mss) const noexcept {
    const std::uint32_t free = limit > buf.size() ? limit - u32(buf.size()) : 0;
    const seq_number edge = nxt + free;
    const std::uint32_t threshold = std::min(2u * mss, limit / 2);
    if (!(edge > adv) || window() >= 2 * threshold) return false;
    return dist(edge, adv) >= threshold;
}

bool receive_side::acceptable(seq_number seq, std::uint32_t seg_len) const noexcept {
    const std::uint32_t wnd = window();
    if (seg_len == 0) return wnd == 0 ? seq == nxt : seq_in_range(seq, nxt, nxt + wnd);
    if (wnd == 0) return false;
    return seq_in_range(seq, nxt, nxt + wnd) || seq_in_range(seq + seg_len - 1, nxt, nxt + wnd);
}

void receive_side::trim_to_window(wire::tcp_segment& seg, bool zero_window_ack) const noexcept {
    if (seg.seq < nxt) {
        std::uint32_t cut = dist(nxt, seg.seq);
        if (seg.flags.syn) {
            seg.flags.syn = false;
            --cut;
            seg.seq += 1;
        }
        cut = std::min<std::uint32_t>(cut, u32(seg.payload.size()));
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
    if (seg.seq + u32(seg.payload.size()) > edge) {
        seg.payload = seg.payload.first(dist(edge, seg.seq));
        seg.flags.fin = false;
    }
}

receive_side::placed receive_side::place(seq_number seq, bytes payload, std::uint32_t mss,
                                         std::uint32_t max_ooo) noexcept {
    const std::uint32_t off = dist(seq, nxt);
    // Defensive: never past the ring (the window already guarantees it).
    const std::size_t room = buf.capacity() - buf.size();
    if (off >= room) return placed::past_ring;
    if (off + payload.size() > room) payload = payload.first(room - off);
    // A TSO/GRO super-segment counts as many full-sized ones: nothing larger than our MSS
    // is "full-sized", so it is ACKed at once (RFC 5681 §4.2: an ACK per two full-sized).
    seg_est = std::max(seg_est, std::min(u32(payload.size()), mss));
    if (off == 0) {
        const bool had_holes = !ooo.empty();
        buf.write_at(buf.size(), payload);
        buf.commit(payload.size());
        nxt += u32(payload.size());
        // Pull any out-of-order ranges that now touch RCV.NXT.
        while (!ooo.empty() && ooo[0].left <= nxt) {
            if (nxt < ooo[0].right) {
                const std::uint32_t n = dist(ooo[0].right, nxt);
                buf.commit(n);
                nxt += n;
            }
            ooo.remove_below(nxt);
        }
        unacked += u32(payload.size());
        return had_holes ? placed::filled_hole : placed::in_order;
    }
    // Out of order: hold it in the ring at its place, bounded (config.max_out_of_order_bytes).
    const seq_number l = seq, r = seq + u32(payload.size());
    const std::uint32_t fresh = u32(payload.size()) - ooo.covered(l, r);
    if (fresh == 0) return placed::duplicate;
    if (ooo.total() + fresh > max_ooo) return placed::over_limit;
    if (!ooo.add(l, r, ++ooo_stamp)) return placed::no_slot;  // the peer retransmits
    buf.write_at(buf.size() + off, payload);
    return placed::out_of_order;
}

void receive_side::add_sack_blocks(wire::tcp_options& o, bool timestamps) const noexcept {
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

receive_side::ack_due receive_side::ack_policy(bool now_please, const config& cfg) const noexcept {
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
