#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>
#include <tapstack/link/memory_link.hpp>

namespace {

using namespace tapstack;
using namespace std::chrono_literals;

std::vector<std::byte> frame_of(std::uint8_t tag, std::size_t size = 60) {
    return std::vector<std::byte>(size, std::byte{tag});
}

/// A scripted peer: records what it receives, optionally reacts, and has one timer.
struct station {
    link::frame_sink* out = nullptr;
    std::vector<std::pair<std::vector<std::byte>, instant>> got;
    std::function<void(bytes, instant)> on_receive;
    std::optional<instant> timer;
    std::function<void(instant)> on_timer;
    int depth = 0;
    int max_depth = 0;
    int polls = 0;

    void receive(bytes f, instant now) {
        ++depth;
        max_depth = std::max(max_depth, depth);
        got.emplace_back(std::vector<std::byte>(f.begin(), f.end()), now);
        if (on_receive) on_receive(f, now);
        --depth;
    }
    std::optional<instant> poll(instant now) {
        ++polls;
        if (timer && *timer <= now) {
            timer.reset();
            if (on_timer) on_timer(now);
        }
        return timer;
    }
    void send(std::uint8_t tag, instant now) {
        const auto f = frame_of(tag);
        out->send_frame(f, now);
    }
};

struct MemoryLink : ::testing::Test {
    link::memory_link wire;
    station a, b;
    void SetUp() override {
        a.out = &wire.side_a();
        b.out = &wire.side_b();
        wire.attach(a, b);
    }
};

TEST_F(MemoryLink, SendQueuesAndPumpDelivers) {
    a.send(1, wire.now());
    b.send(2, wire.now());
    EXPECT_TRUE(a.got.empty());
    EXPECT_TRUE(b.got.empty());
    EXPECT_EQ(wire.queued_a_to_b(), 1u);
    EXPECT_EQ(wire.queued_b_to_a(), 1u);
    EXPECT_EQ(wire.pump(wire.now()), 2u);
    ASSERT_EQ(b.got.size(), 1u);
    ASSERT_EQ(a.got.size(), 1u);
    EXPECT_EQ(b.got[0].first, frame_of(1));
    EXPECT_EQ(a.got[0].first, frame_of(2));
    EXPECT_EQ(wire.stats().delivered_to_a, 1u);
    EXPECT_EQ(wire.stats().delivered_to_b, 1u);
}

TEST_F(MemoryLink, FramesKeepTheirOrder) {
    for (std::uint8_t i = 0; i < 10; ++i) a.send(i, wire.now());
    wire.pump(wire.now());
    ASSERT_EQ(b.got.size(), 10u);
    for (std::uint8_t i = 0; i < 10; ++i) EXPECT_EQ(b.got[i].first, frame_of(i));
}

TEST_F(MemoryLink, RepliesAreQueuedNotDeliveredReentrantly) {
    // Each side answers every frame with tag-1 until zero: 20 frames in one pump, never nested.
    auto bounce = [](station& self) {
        return [&self](bytes f, instant now) {
            const auto tag = static_cast<std::uint8_t>(f[0]);
            if (tag > 0) self.send(static_cast<std::uint8_t>(tag - 1), now);
        };
    };
    a.on_receive = bounce(a);
    b.on_receive = bounce(b);
    a.send(19, wire.now());
    EXPECT_EQ(wire.pump(wire.now()), 20u);
    EXPECT_EQ(a.got.size(), 10u);
    EXPECT_EQ(b.got.size(), 10u);
    EXPECT_EQ(a.max_depth, 1);
    EXPECT_EQ(b.max_depth, 1);
    EXPECT_EQ(wire.queued_a_to_b() + wire.queued_b_to_a(), 0u);
}

TEST_F(MemoryLink, SendingIntoTheQueueBeingDeliveredIsSafe) {
    // b's receive sends on a's side (as a middleware might): the frame being delivered must
    // not be overwritten by the new one even though the ring is tiny.
    link::memory_link small{{.queue_frames = 1}};
    station x, y;
    x.out = &small.side_a();
    y.out = &small.side_b();
    small.attach(x, y);
    int sent_more = 0;
    y.on_receive = [&](bytes f, instant now) {
        EXPECT_EQ(f.size(), 60u);
        if (sent_more++ == 0) x.send(7, now);  // ring is full (1 slot in use): dropped, counted
    };
    x.send(3, small.now());
    small.pump(small.now());
    ASSERT_EQ(y.got.size(), 1u);
    EXPECT_EQ(y.got[0].first, frame_of(3));
    EXPECT_EQ(small.stats().full_drops, 1u);
}

TEST_F(MemoryLink, RunUntilJumpsToTheNextDeadline) {
    a.timer = instant{} + 1500ms;
    a.on_timer = [&](instant now) { a.send(42, now); };
    const bool ok = wire.run_until([&] { return !b.got.empty(); }, instant{} + 10s);
    EXPECT_TRUE(ok);
    EXPECT_EQ(wire.now(), instant{} + 1500ms);
    ASSERT_EQ(b.got.size(), 1u);
    EXPECT_EQ(b.got[0].second, instant{} + 1500ms);
}

TEST_F(MemoryLink, RunUntilStopsAtTheLimit) {
    a.timer = instant{} + 20s;
    a.on_timer = [&](instant now) { a.send(1, now); };
    EXPECT_FALSE(wire.run_until([&] { return !b.got.empty(); }, instant{} + 5s));
    EXPECT_EQ(wire.now(), instant{} + 5s);
    EXPECT_TRUE(b.got.empty());
    EXPECT_EQ(wire.next_deadline(), instant{} + 20s);
    wire.run_for(15s);
    EXPECT_EQ(b.got.size(), 1u);
    EXPECT_EQ(wire.now(), instant{} + 20s);
}

TEST_F(MemoryLink, RunUntilWithNothingPendingReturnsAtTheLimit) {
    EXPECT_FALSE(wire.run_until([] { return false; }, instant{} + 3s));
    EXPECT_EQ(wire.now(), instant{} + 3s);
    EXPECT_GT(a.polls, 0);
    EXPECT_GT(b.polls, 0);
}

TEST_F(MemoryLink, TimersThatSendRepeatedlyAdvanceStepByStep) {
    // A retransmission-like timer on a: every 200 ms until b has 5 frames.
    std::function<void(instant)> fire = [&](instant now) {
        a.send(9, now);
        a.timer = now + 200ms;
    };
    a.timer = instant{} + 200ms;
    a.on_timer = fire;
    EXPECT_TRUE(wire.run_until([&] { return b.got.size() == 5; }, instant{} + 10s));
    EXPECT_EQ(wire.now(), instant{} + 1000ms);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(b.got[i].second, instant{} + 200ms * static_cast<int>(i + 1));
}

TEST_F(MemoryLink, StaleDeadlineDoesNotStallTheClock) {
    // A buggy station that keeps reporting a deadline in the past must not hang run_until.
    struct stuck {
        void receive(bytes, instant) {}
        std::optional<instant> poll(instant) { return instant{}; }
    } s1, s2;
    link::memory_link w;
    w.attach(s1, s2);
    EXPECT_FALSE(w.run_until([] { return false; }, instant{} + 50us));
    EXPECT_EQ(w.now(), instant{} + 50us);
}

TEST_F(MemoryLink, EndlessPingPongIsBounded) {
    link::memory_link w{{.max_frames_per_instant = 1000}};
    station x, y;
    x.out = &w.side_a();
    y.out = &w.side_b();
    w.attach(x, y);
    x.on_receive = [&](bytes, instant now) { x.send(1, now); };
    y.on_receive = [&](bytes, instant now) { y.send(1, now); };
    x.send(1, w.now());
    w.settle();
    EXPECT_GE(w.stats().storms, 1u);
    EXPECT_LE(x.got.size() + y.got.size(), 2100u);
}

TEST_F(MemoryLink, OversizeAndFullQueuesDropAndCount) {
    link::memory_link w{{.queue_frames = 2, .max_frame_size = 100}};
    const auto big = frame_of(1, 101);
    w.side_a().send_frame(big, w.now());
    EXPECT_EQ(w.stats().oversize_drops, 1u);
    for (std::uint8_t i = 0; i < 3; ++i) {
        const auto f = frame_of(i);
        w.side_a().send_frame(f, w.now());
    }
    EXPECT_EQ(w.queued_a_to_b(), 2u);
    EXPECT_EQ(w.stats().full_drops, 1u);
    EXPECT_EQ(w.stats().queued_a_to_b, 2u);
}

TEST_F(MemoryLink, ObserverSeesEveryDeliveredFrame) {
    struct counter final : link::frame_sink {
        int n = 0;
        void send_frame(bytes, instant) override { ++n; }
    } obs;
    wire.set_observer(&obs);
    a.send(1, wire.now());
    b.send(2, wire.now());
    b.send(3, wire.now());
    wire.pump(wire.now());
    EXPECT_EQ(obs.n, 3);
}

TEST_F(MemoryLink, AdvanceNeverGoesBack) {
    wire.advance_to(instant{} + 5s);
    wire.advance_to(instant{} + 1s);
    EXPECT_EQ(wire.now(), instant{} + 5s);
}

}  // namespace
