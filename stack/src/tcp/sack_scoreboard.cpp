// RFC 6675 §4: the scoreboard's estimates.
#include "sack_scoreboard.hpp"

#include <algorithm>

namespace tapstack::tcp {

namespace {
/// a - b for a >= b in sequence space.
constexpr std::uint32_t dist(seq_number a, seq_number b) noexcept { return static_cast<std::uint32_t>(a - b); }
}  // namespace

std::uint32_t sack_scoreboard::pipe(seq_number snd_una, seq_number snd_max, seq_number high_rxt,
                                    std::uint32_t smss) const noexcept {
    std::uint32_t p = 0;
    seq_number cur = snd_una;
    auto hole = [&](seq_number l, seq_number r) {
        if (!(l < r)) return;
        if (is_lost(l, smss)) {
            const seq_number e = seq_min(r, seq_max(l, high_rxt));
            if (l < e) p += dist(e, l);
        } else {
            p += dist(r, l);
        }
    };
    for (const auto& r : sacked_) {
        hole(cur, r.left);
        cur = seq_max(cur, r.right);
    }
    if (cur < snd_max) p += dist(snd_max, cur);
    return p;
}

bool sack_scoreboard::next_lost(seq_number snd_una, seq_number high_rxt, std::uint32_t smss, seq_number& seq,
                                std::uint32_t& len) const noexcept {
    seq_number cur = snd_una;
    for (const auto& r : sacked_) {
        const seq_number l = seq_max(cur, high_rxt);
        if (l < r.left && is_lost(l, smss)) {
            seq = l;
            len = std::min<std::uint32_t>(dist(r.left, l), smss);
            return true;
        }
        cur = seq_max(cur, r.right);
    }
    return false;
}

}  // namespace tapstack::tcp
