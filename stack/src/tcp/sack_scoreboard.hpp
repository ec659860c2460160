#pragma once
// The sender's SACK scoreboard (RFC 6675 §3): which bytes above SND.UNA the peer reported
// holding (RFC 2018 blocks), and the loss and pipe estimates RFC 6675 §4 derives from them.
// It knows no connection: the send sequence variables come in as arguments.
#include <cstdint>
#include <tapstack/tcp/range_set.hpp>
#include <tapstack/wire/seq_number.hpp>
#include <tapstack/wire/tcp.hpp>

namespace tapstack::tcp {

class sack_scoreboard {
public:
    void clear() noexcept { sacked_.clear(); }
    bool empty() const noexcept { return sacked_.empty(); }
    /// Bytes the peer SACKed, for tests and logs.
    std::uint32_t total() const noexcept { return sacked_.total(); }
    bool contains(seq_number s) const noexcept { return sacked_.contains(s); }

    /// Takes the SACK blocks of an arriving ACK. Only blocks inside (SND.UNA, SND.MAX] mean
    /// anything (RFC 2018 §8 D-SACK aside): others are clipped or ignored. True when a block
    /// told something new (and there was room to record it).
    bool update(const wire::tcp_options& o, seq_number snd_una, seq_number snd_max) noexcept;
    /// The cumulative ACK reached `snd_una`: what lies below is acknowledged, not SACKed.
    void remove_below(seq_number snd_una) noexcept { sacked_.remove_below(snd_una); }

    /// RFC 6675 §4 IsLost: more than (DupThresh-1)*SMSS bytes SACKed above `s`.
    bool is_lost(seq_number s, std::uint32_t smss) const noexcept { return sacked_.total_above(s) > 2u * smss; }
    /// RFC 6675 §4 SetPipe: un-SACKed bytes in [snd_una, snd_max) not deemed lost, plus lost ones
    /// already retransmitted (those below high_rxt).
    std::uint32_t pipe(seq_number snd_una, seq_number snd_max, seq_number high_rxt, std::uint32_t smss) const noexcept;
    /// RFC 6675 §4 NextSeg rule 1: the first lost, not yet retransmitted, un-SACKed range, at most
    /// one SMSS long. False when there is none.
    bool next_lost(seq_number snd_una, seq_number high_rxt, std::uint32_t smss, seq_number& seq,
                   std::uint32_t& len) const noexcept;
    /// After a timeout SND.NXT walks back through data the peer may already hold: the first
    /// sequence number at or after `nxt` (and at most `snd_max`) the peer did not SACK
    /// (RFC 6675 §5.1).
    seq_number skip_sacked(seq_number nxt, seq_number snd_max) const noexcept {
        while (const seq_range* r = sacked_.find(nxt)) nxt = seq_min(r->right, snd_max);
        return nxt;
    }

private:
    range_set<32> sacked_;  // SACKed ranges above snd_una
};

// Inline: it runs for every ACK that arrives.
inline bool sack_scoreboard::update(const wire::tcp_options& o, seq_number snd_una, seq_number snd_max) noexcept {
    bool newly_sacked = false;
    for (std::size_t i = 0; i < o.sack_count && i < o.sack.size(); ++i) {
        const auto& b = o.sack[i];
        const seq_number l = seq_max(b.left, snd_una), r = seq_min(b.right, snd_max);
        if (!(l < r)) continue;
        if (sacked_.covered(l, r) < static_cast<std::uint32_t>(r - l)) {
            if (sacked_.add(l, r)) newly_sacked = true;
        }
    }
    return newly_sacked;
}

}  // namespace tapstack::tcp
