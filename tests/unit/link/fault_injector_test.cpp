#include <gtest/gtest.h>

#include <cstdint>
#include <vector>
#include <tapstack/link/fault_injector.hpp>

namespace {

using namespace tapstack;

struct recording_sink final : link::frame_sink {
    std::vector<std::vector<std::byte>> frames;
    void send_frame(bytes frame, instant) override { frames.emplace_back(frame.begin(), frame.end()); }
};

/// A 60-byte frame whose every byte past the Ethernet header carries `tag`.
std::vector<std::byte> make_frame(std::uint8_t tag, std::size_t size = 60) {
    std::vector<std::byte> f(size, std::byte{tag});
    for (std::size_t i = 0; i < 14; ++i) f[i] = std::byte{0xee};
    return f;
}

std::uint8_t tag_of(const std::vector<std::byte>& f) { return static_cast<std::uint8_t>(f.back()); }

TEST(FaultInjector, PassesEverythingThroughWithZeroProbabilities) {
    recording_sink out;
    link::fault_injector fi{{}, out};
    for (std::uint8_t i = 0; i < 50; ++i) fi.send_frame(make_frame(i), instant{});
    ASSERT_EQ(out.frames.size(), 50u);
    for (std::uint8_t i = 0; i < 50; ++i) EXPECT_EQ(out.frames[i], make_frame(i));
    EXPECT_EQ(fi.stats().in_frames, 50u);
    EXPECT_EQ(fi.stats().out_frames, 50u);
    EXPECT_EQ(fi.stats().dropped + fi.stats().duplicated + fi.stats().reordered + fi.stats().corrupted, 0u);
}

TEST(FaultInjector, DropsEverythingWithProbabilityOne) {
    recording_sink out;
    link::fault_injector fi{{.drop = 1.0}, out};
    for (std::uint8_t i = 0; i < 10; ++i) fi.send_frame(make_frame(i), instant{});
    EXPECT_TRUE(out.frames.empty());
    EXPECT_EQ(fi.stats().dropped, 10u);
}

TEST(FaultInjector, DropRateFollowsProbability) {
    recording_sink out;
    link::fault_injector fi{{.drop = 0.25, .seed = 7}, out};
    for (int i = 0; i < 4000; ++i) fi.send_frame(make_frame(1), instant{});
    EXPECT_EQ(fi.stats().dropped + out.frames.size(), 4000u);
    EXPECT_NEAR(static_cast<double>(fi.stats().dropped) / 4000.0, 0.25, 0.03);
}

TEST(FaultInjector, DuplicatesBackToBack) {
    recording_sink out;
    link::fault_injector fi{{.duplicate = 1.0}, out};
    fi.send_frame(make_frame(1), instant{});
    fi.send_frame(make_frame(2), instant{});
    ASSERT_EQ(out.frames.size(), 4u);
    EXPECT_EQ(tag_of(out.frames[0]), 1);
    EXPECT_EQ(tag_of(out.frames[1]), 1);
    EXPECT_EQ(tag_of(out.frames[2]), 2);
    EXPECT_EQ(tag_of(out.frames[3]), 2);
    EXPECT_EQ(fi.stats().duplicated, 2u);
    EXPECT_EQ(fi.stats().out_frames, 4u);
}

TEST(FaultInjector, ReorderHoldsAFrameUntilTheNextOne) {
    recording_sink out;
    link::fault_injector fi{{.reorder = 1.0}, out};
    fi.send_frame(make_frame(1), instant{});
    EXPECT_TRUE(out.frames.empty());
    EXPECT_TRUE(fi.holding());
    // Only one frame is held at a time: the second passes, then the first follows it.
    fi.send_frame(make_frame(2), instant{});
    ASSERT_EQ(out.frames.size(), 2u);
    EXPECT_EQ(tag_of(out.frames[0]), 2);
    EXPECT_EQ(tag_of(out.frames[1]), 1);
    EXPECT_FALSE(fi.holding());
    fi.send_frame(make_frame(3), instant{});
    EXPECT_EQ(out.frames.size(), 2u);
    fi.flush(instant{});
    ASSERT_EQ(out.frames.size(), 3u);
    EXPECT_EQ(tag_of(out.frames[2]), 3);
    fi.flush(instant{});  // nothing held: no-op
    EXPECT_EQ(out.frames.size(), 3u);
    EXPECT_EQ(fi.stats().reordered, 2u);
}

TEST(FaultInjector, HeldFrameIsACopyNotTheCallersBuffer) {
    recording_sink out;
    link::fault_injector fi{{.reorder = 1.0}, out};
    auto f = make_frame(1);
    fi.send_frame(f, instant{});
    f.assign(f.size(), std::byte{0});  // the caller reuses its buffer
    fi.flush(instant{});
    ASSERT_EQ(out.frames.size(), 1u);
    EXPECT_EQ(out.frames[0], make_frame(1));
}

TEST(FaultInjector, CorruptFlipsExactlyOneBytePastTheEthernetHeader) {
    recording_sink out;
    link::fault_injector fi{{.corrupt = 1.0, .seed = 3}, out};
    const auto original = make_frame(0x55, 100);
    for (int i = 0; i < 200; ++i) fi.send_frame(original, instant{});
    ASSERT_EQ(out.frames.size(), 200u);
    EXPECT_EQ(fi.stats().corrupted, 200u);
    for (const auto& f : out.frames) {
        ASSERT_EQ(f.size(), original.size());
        int differing = 0;
        for (std::size_t i = 0; i < f.size(); ++i) {
            if (f[i] != original[i]) {
                ++differing;
                EXPECT_GE(i, 14u);
            }
        }
        EXPECT_EQ(differing, 1);
    }
}

TEST(FaultInjector, CorruptNeverTouchesAHeaderOnlyFrame) {
    recording_sink out;
    link::fault_injector fi{{.corrupt = 1.0}, out};
    const auto f = make_frame(0, 14);
    fi.send_frame(f, instant{});
    ASSERT_EQ(out.frames.size(), 1u);
    EXPECT_EQ(out.frames[0], f);
    EXPECT_EQ(fi.stats().corrupted, 0u);
}

TEST(FaultInjector, OversizeFramesPassUntouched) {
    recording_sink out;
    link::fault_injector fi{{.drop = 1.0, .max_frame_size = 64}, out};
    fi.send_frame(make_frame(9, 100), instant{});
    ASSERT_EQ(out.frames.size(), 1u);
    EXPECT_EQ(fi.stats().oversize, 1u);
}

TEST(FaultInjector, SameSeedSameDecisions) {
    const link::fault_config cfg{.drop = 0.2, .duplicate = 0.2, .reorder = 0.2, .corrupt = 0.2, .seed = 42};
    recording_sink out1, out2;
    link::fault_injector f1{cfg, out1}, f2{cfg, out2};
    for (std::uint8_t i = 0; i < 200; ++i) {
        f1.send_frame(make_frame(i), instant{});
        f2.send_frame(make_frame(i), instant{});
    }
    EXPECT_EQ(out1.frames, out2.frames);
    EXPECT_GT(f1.stats().dropped, 0u);
    EXPECT_GT(f1.stats().duplicated, 0u);
    EXPECT_GT(f1.stats().reordered, 0u);
    EXPECT_GT(f1.stats().corrupted, 0u);

    recording_sink out3;
    link::fault_injector f3{{.drop = 0.2, .duplicate = 0.2, .reorder = 0.2, .corrupt = 0.2, .seed = 43}, out3};
    for (std::uint8_t i = 0; i < 200; ++i) f3.send_frame(make_frame(i), instant{});
    EXPECT_NE(out1.frames, out3.frames);
}

TEST(FaultInjector, ForwardsTheTimestamp) {
    struct time_sink final : link::frame_sink {
        instant last{};
        void send_frame(bytes, instant now) override { last = now; }
    } out;
    link::fault_injector fi{{}, out};
    fi.send_frame(make_frame(1), instant_from_us(1234));
    EXPECT_EQ(to_us(out.last), 1234);
}

}  // namespace
