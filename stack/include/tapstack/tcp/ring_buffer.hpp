#pragma once
// A byte ring whose capacity changes only at growth events (a connection's buffer following its
// demand, doubling), never per packet.
#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>
#include <tapstack/base/bytes.hpp>

namespace tapstack::tcp {

class ring_buffer {
public:
    ring_buffer() noexcept = default;
    /// (Re)allocates only when the capacity changes; always empties the ring.
    void reset(std::size_t capacity) {
        if (capacity != cap_) {
            data_ = std::make_unique_for_overwrite<std::byte[]>(capacity);  // no zeroing: bytes are written before read
            cap_ = capacity;
        }
        head_ = 0;
        size_ = 0;
    }
    /// Reallocates to `capacity` keeping every byte: the contents and any bytes parked past them
    /// (write_at), at the same logical offsets. Requires capacity >= the highest logical offset in
    /// use; a larger ring keeps all of the old one.
    void resize(std::size_t capacity) {
        if (capacity == cap_) return;
        auto next = std::make_unique_for_overwrite<std::byte[]>(capacity);
        const std::size_t keep = std::min(capacity, cap_);
        if (keep > 0) copy_out(0, mutable_bytes{next.get(), keep});
        data_ = std::move(next);
        cap_ = capacity;
        head_ = 0;
    }
    std::size_t capacity() const noexcept { return cap_; }
    std::size_t size() const noexcept { return size_; }
    std::size_t free() const noexcept { return cap_ - size_; }
    bool empty() const noexcept { return size_ == 0; }

    /// Appends as much of `src` as fits; returns the count.
    std::size_t write(bytes src) noexcept {
        const std::size_t n = std::min(src.size(), free());
        write_at(size_, src.first(n));
        size_ += n;
        return n;
    }
    /// Copies `src` to logical offset `off` (from the head) without changing size(): used to hold
    /// out-of-order bytes past the readable end. Requires off + src.size() <= capacity().
    void write_at(std::size_t off, bytes src) noexcept {
        assert(off + src.size() <= cap_);
        std::size_t pos = wrap(head_ + off);
        std::size_t done = 0;
        while (done < src.size()) {
            const std::size_t n = std::min(src.size() - done, cap_ - pos);
            std::memcpy(data_.get() + pos, src.data() + done, n);
            done += n;
            pos = 0;
        }
    }
    /// Makes `n` more bytes (already placed with write_at) part of the contents.
    void commit(std::size_t n) noexcept {
        assert(size_ + n <= cap_);
        size_ += n;
    }
    /// Pops up to out.size() bytes from the head.
    std::size_t read(mutable_bytes out) noexcept {
        const std::size_t n = std::min(out.size(), size_);
        copy_out(0, out.first(n));
        consume(n);
        return n;
    }
    void consume(std::size_t n) noexcept {
        assert(n <= size_);
        head_ = wrap(head_ + n);
        size_ -= n;  // head_ is not rewound when empty: bytes may be parked past the end (write_at)
    }
    /// The bytes at [off, off+len) if they are contiguous in memory; shorter when the ring wraps.
    bytes contiguous(std::size_t off, std::size_t len) const noexcept {
        const std::size_t pos = wrap(head_ + off);
        return bytes{data_.get() + pos, std::min(len, cap_ - pos)};
    }
    void copy_out(std::size_t off, mutable_bytes out) const noexcept {
        assert(off + out.size() <= cap_);
        std::size_t pos = wrap(head_ + off);
        std::size_t done = 0;
        while (done < out.size()) {
            const std::size_t n = std::min(out.size() - done, cap_ - pos);
            std::memcpy(out.data() + done, data_.get() + pos, n);
            done += n;
            pos = 0;
        }
    }

private:
    std::size_t wrap(std::size_t i) const noexcept { return i >= cap_ ? i - cap_ : i; }
    std::unique_ptr<std::byte[]> data_;
    std::size_t cap_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace tapstack::tcp
