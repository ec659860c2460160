// The receive side's rules: acceptability and trimming (RFC 9293 §3.10.7.4), reassembly, the
// advertised window (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4) and delayed ACKs (RFC 5681 §4.2).
#include "receive_side.hpp"

#include <algorithm>

namespace tapstack::tcp {

namespace {
constexpr std::uint32_t u32(std::size_t v) noexcept { return static_cast<std::uint32_t>(v); }
/// a - b for a >= b in sequence space.
constexpr std::uint32_t dist(seq_number a, seq_number b) noexcept { return static_cast<std::uint32_t>(a - b); }
}  // namespace

void receive_side::reset(const config& cfg, std::uint32_t buffer) noexcept {
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
        while (wscale < 14 && (std::uint64_t{65535} << wscale) < buffer) ++wscale;
}

void receive_side::negotiated(bool window_scaling, std::uint32_t buffer) noexcept {
    if (!window_scaling) wscale = 0;
    limit = window_scaling ? static_cast<std::uint32_t>(std::min<std::uint64_t>(buffer, std::uint64_t{65535} << wscale))
                           : std::min<std::uint32_t>(buffer, 65535);
}

bool receive_side::window_update_due(std::uint32_t mss) const noexcept {
    const seq_number edge = nxt + offerable();
    const std::uint32_t threshold = std::min(2u * mss, limit / 2);
    if (!(edge > adv) || window() >= 2 * threshold) return false;
    return dist(edge, adv) >= threshold;
}

}  // namespace tapstack::tcp
