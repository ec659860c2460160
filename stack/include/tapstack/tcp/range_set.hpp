#pragma once
// A small, fixed-capacity set of disjoint sequence ranges: the out-of-order map of the receiver
// and the SACK scoreboard of the sender (RFC 6675 §3). No allocation; add() fails when full.
#include <array>
#include <cstdint>
#include <tapstack/wire/seq_number.hpp>

namespace tapstack::tcp {

struct seq_range {
    seq_number left;  // first byte
    seq_number right;  // one past the last
    std::uint64_t stamp = 0;  // when it last grew: RFC 2018 §4 reports the newest block first
    std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(right - left); }
};

template <std::size_t N>
class range_set {
public:
    std::size_t count() const noexcept { return n_; }
    bool empty() const noexcept { return n_ == 0; }
    const seq_range& operator[](std::size_t i) const noexcept { return r_[i]; }
    const seq_range* begin() const noexcept { return r_.data(); }
    const seq_range* end() const noexcept { return r_.data() + n_; }
    void clear() noexcept { n_ = 0; }

    /// Merges [l, r) in (joining overlapping and adjacent ranges); false if a new slot was needed
    /// and none was free.
    bool add(seq_number l, seq_number r, std::uint64_t stamp = 0) noexcept {
        if (!(l < r)) return true;
        std::size_t i = 0;
        while (i < n_ && r_[i].right < l) ++i;
        std::size_t j = i;
        seq_number nl = l, nr = r;
        while (j < n_ && r_[j].left <= r) {
            nl = seq_min(nl, r_[j].left);
            nr = seq_max(nr, r_[j].right);
            ++j;
        }
        if (j == i) {
            if (n_ == N) return false;
            for (std::size_t k = n_; k > i; --k) r_[k] = r_[k - 1];
            r_[i] = seq_range{l, r, stamp};
            ++n_;
            return true;
        }
        r_[i] = seq_range{nl, nr, stamp};
        const std::size_t gone = j - i - 1;
        for (std::size_t k = i + 1; k + gone < n_; ++k) r_[k] = r_[k + gone];
        n_ -= gone;
        return true;
    }
    /// Forgets everything below s.
    void remove_below(seq_number s) noexcept {
        std::size_t drop = 0;
        while (drop < n_ && r_[drop].right <= s) ++drop;
        for (std::size_t k = 0; k + drop < n_; ++k) r_[k] = r_[k + drop];
        n_ -= drop;
        if (n_ > 0 && r_[0].left < s) r_[0].left = s;
    }
    bool contains(seq_number s) const noexcept {
        for (std::size_t i = 0; i < n_; ++i)
            if (seq_in_range(s, r_[i].left, r_[i].right)) return true;
        return false;
    }
    /// The range holding s, if any.
    const seq_range* find(seq_number s) const noexcept {
        for (std::size_t i = 0; i < n_; ++i)
            if (seq_in_range(s, r_[i].left, r_[i].right)) return &r_[i];
        return nullptr;
    }
    std::uint32_t total() const noexcept {
        std::uint32_t t = 0;
        for (std::size_t i = 0; i < n_; ++i) t += r_[i].size();
        return t;
    }
    /// Bytes of the set at or above s.
    std::uint32_t total_above(seq_number s) const noexcept {
        std::uint32_t t = 0;
        for (std::size_t i = 0; i < n_; ++i)
            if (s < r_[i].right) t += static_cast<std::uint32_t>(r_[i].right - seq_max(s, r_[i].left));
        return t;
    }
    /// Bytes of [l, r) that the set covers.
    std::uint32_t covered(seq_number l, seq_number r) const noexcept {
        std::uint32_t t = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            const seq_number a = seq_max(l, r_[i].left), b = seq_min(r, r_[i].right);
            if (a < b) t += static_cast<std::uint32_t>(b - a);
        }
        return t;
    }

private:
    std::array<seq_range, N> r_{};
    std::size_t n_ = 0;
};

}  // namespace tapstack::tcp
