// Hostile input: random segments (flags, numbers, options, payloads) thrown at live connections
// must never crash, trip an assertion, or corrupt the byte stream the real peer is sending.
#include <gtest/gtest.h>

#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

TEST(TcpRobustness, RandomSegmentsNeverBreakTheConnection) {
    int intact = 0;  // runs whose stream begins with the whole real data, unmixed
    std::size_t total_real_bytes = 0, real_size = 0;
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        tcp::config cfg;
        cfg.challenge_ack_limit = 1'000'000;
        tcp_pair p{cfg, cfg};
        ASSERT_TRUE(establish(p));
        random_source rng{seed};
        std::vector<std::byte> junk(3000);
        const std::string real = "the real data must arrive intact";
        real_size = real.size();
        p.a().queue_send(real);
        for (int i = 0; i < 5000; ++i) {
            // Numbers near the live ones (the interesting cases) or anywhere.
            const auto near = [&](seq_number base) {
                return rng.chance(0.5) ? base + (rng.below(200000) - 100000u)
                                       : seq_number{static_cast<std::uint32_t>(rng.next())};
            };
            const seq_number seq = near(p.b().conn.rcv_nxt());
            const seq_number ack = near(p.b().conn.info().snd_nxt);
            wire::tcp_flags f = wire::tcp_flags::from_byte(static_cast<std::uint8_t>(rng.below(256)));
            f.rst = f.rst && rng.chance(0.2);  // let most of them through the reset check
            const std::size_t len = rng.chance(0.5) ? 0 : rng.below(static_cast<std::uint32_t>(junk.size()));
            for (std::size_t k = 0; k < len; ++k) junk[k] = std::byte(0xEE);
            auto seg = make_segment(true, seq, std::nullopt, f, static_cast<std::uint16_t>(rng.below(65536)),
                                    bytes{junk.data(), len});
            seg.ack = ack;
            if (rng.chance(0.3))
                seg.options.timestamps = wire::tcp_timestamps{static_cast<std::uint32_t>(rng.next()), 0};
            if (rng.chance(0.3)) {
                seg.options.sack_count = static_cast<std::uint8_t>(1 + rng.below(4));
                for (std::uint8_t k = 0; k < seg.options.sack_count; ++k)
                    seg.options.sack[k] = wire::sack_block{near(ack), near(ack)};
            }
            if (rng.chance(0.05)) seg.options.mss = static_cast<std::uint16_t>(rng.below(65536));
            if (rng.chance(0.05)) seg.options.window_scale = static_cast<std::uint8_t>(rng.below(256));
            p.inject_to_b(seg);
            if (i % 50 == 0) p.advance(1ms);
            if (p.b().conn.current_state() == state::closed) break;  // an exact RST or similar got lucky
        }
        // Whatever state b ended in, it is consistent and its timers are sane.
        if (p.b().conn.current_state() != state::closed) {
            EXPECT_TRUE(p.b().conn.deadline().has_value() || p.b().conn.bytes_unacknowledged() == 0);
        }
        // Let a finish sending (unless a lucky RST ended either side).
        const auto over = [&](tcp_endpoint& e) { return e.conn.current_state() == state::closed; };
        p.run_until([&] { return p.b().received.size() >= real.size() || over(p.a()) || over(p.b()); }, 60s);
        if (!over(p.a()) && !over(p.b())) { EXPECT_GE(p.b().received.size(), real.size()) << "seed " << seed; }
        // Byte for byte, by sequence position: the k-th byte of b's stream is the k-th byte a sent,
        // or junk (0xEE) that an injected in-window segment put at that very position first (TCP
        // cannot tell it from data). Past the real data there is only junk.
        const auto got = p.b().received_string();
        std::size_t real_bytes = 0;
        for (std::size_t k = 0; k < got.size(); ++k) {
            const bool is_junk = static_cast<unsigned char>(got[k]) == 0xEE;
            if (k < real.size() && got[k] == real[k]) {
                ++real_bytes;
            } else {
                EXPECT_TRUE(is_junk) << "seed " << seed << ": byte " << k << " is neither a's nor junk";
            }
        }
        if (got.compare(0, real.size(), real) == 0) ++intact;
        total_real_bytes += real_bytes;
    }
    // Most of the real data got through: the check above compared something.
    EXPECT_GE(intact, 1);
    EXPECT_GT(total_real_bytes, 2 * real_size);
}

}  // namespace
}  // namespace tapstack::testing
