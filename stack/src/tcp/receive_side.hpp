#pragma once
// The receive side of a connection: the receive sequence space (RFC 9293 §3.3.1), the receive
// ring with the out-of-order bytes held at their place, the window we advertise (RFC 9293
// §3.8.6.2.2 receiver SWS avoidance, RFC 7323 §2 scaling), and when an ACK is due (RFC 1122
// 4.2.3.2, RFC 5681 §4.2 delayed ACKs).
#include <cstdint>
#include <optional>
#include <tapstack/base/bytes.hpp>
#include <tapstack/tcp/config.hpp>
#include <tapstack/tcp/range_set.hpp>
#include <tapstack/tcp/ring_buffer.hpp>
#include <tapstack/tcp/seq_number.hpp>
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

    /// A connection opens: nothing received; our window shift from the configured buffer.
    void reset(const config& cfg) noexcept;
    /// Once options are known (RFC 7323 §2.2: scaling only if both sides offered it).
    void negotiated(bool window_scaling, std::uint32_t buffer) noexcept;
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

}  // namespace tapstack::tcp
