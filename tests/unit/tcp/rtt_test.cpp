// RTT measurement (RFC 6298, RFC 7323 §4), Karn's rule, observer events, corruption.
#include <gtest/gtest.h>

#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

TEST(TcpRtt, TimestampsMeasureTheRoundTrip) {
    tcp_pair p{tcp::config{}, tcp::config{}, 25ms};  // 50 ms round trip
    ASSERT_TRUE(establish(p));
    p.a().conn.set_no_delay(true);
    for (int i = 0; i < 5; ++i) {
        p.a().queue_send("x");
        ASSERT_TRUE(p.run_until([&] { return p.a().conn.bytes_unacknowledged() == 0; }));
    }
    const auto i = p.a().conn.info();
    // RTT = 50 ms, plus b's delayed ACK (40 ms) for the lone small segments.
    EXPECT_GE(i.srtt, 50ms);
    EXPECT_LE(i.srtt, 91ms);
    EXPECT_GE(i.rto, tcp::config{}.min_rto);
    EXPECT_GE(p.a().stats.rtt_samples, 5u);
}

TEST(TcpRtt, WithoutTimestampsOneTimedSegmentAndKarnsRule) {
    tcp::config no_ts;
    no_ts.timestamps = false;
    no_ts.delayed_ack = 0ms;
    tcp_pair p{no_ts, no_ts, 25ms};
    ASSERT_TRUE(establish(p));
    const auto i0 = p.a().conn.info();
    EXPECT_FALSE(i0.timestamps);
    EXPECT_EQ(i0.srtt, 50ms);  // the SYN,ACK timed the SYN
    const auto samples = p.a().stats.rtt_samples;
    // A segment that had to be retransmitted gives no sample (Karn).
    p.deliver_a_to_b = false;
    p.a().queue_send("lost once");
    p.advance(250ms);
    ASSERT_EQ(p.a().stats.timeouts, 1u);
    p.deliver_a_to_b = true;
    ASSERT_TRUE(p.run_until([&] { return p.a().conn.bytes_unacknowledged() == 0; }));
    EXPECT_EQ(p.a().stats.rtt_samples, samples);
    // ... and the backed-off RTO stays until a fresh sample arrives.
    EXPECT_GE(p.a().conn.info().rto, 2 * tcp::config{}.min_rto);
    p.a().queue_send("fresh");
    ASSERT_TRUE(p.run_until([&] { return p.a().conn.bytes_unacknowledged() == 0; }));
    EXPECT_EQ(p.a().stats.rtt_samples, samples + 1);
    EXPECT_EQ(p.a().conn.info().srtt, 50ms);
}

TEST(TcpEvents, WritableWhenSendSpaceOpens) {
    tcp::config small;
    small.send_buffer_size = 4096;
    tcp_pair p{small, tcp::config{}};
    ASSERT_TRUE(establish(p));
    std::vector<std::byte> data(10000, std::byte{1});
    EXPECT_EQ(p.a().conn.send(data, p.now()), 4096u);
    EXPECT_EQ(p.a().conn.send_space(), 0u);
    p.a().events.clear();
    p.a().queue_send(bytes{data}.subspan(4096));
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == 10000; }));
    EXPECT_TRUE(p.a().saw_event(tcp::connection_observer::writable));
    EXPECT_GT(p.a().conn.send_space(), 0u);
}

TEST(TcpEvents, ReadableOnFinAndEof) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.b().events.clear();
    p.a().queue_send("bye");
    p.a().close_when_sent = true;
    ASSERT_TRUE(p.run_until([&] { return p.b().conn.eof(); }));
    EXPECT_EQ(p.b().received_string(), "bye");
    EXPECT_TRUE(p.b().saw_event(tcp::connection_observer::readable));
    std::byte buf[4];
    EXPECT_EQ(p.b().conn.receive(buf, p.now()), 0u);
}

TEST(TcpBulk, CorruptedSegmentsAreRecovered) {
    tcp_pair p{tcp::config{}, tcp::config{}, 3ms};
    fault_model f;
    f.corrupt = 0.05;
    f.seed = 99;
    p.set_faults(f);
    p.connect();
    std::vector<std::byte> data(400'000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7 + (i >> 9));
    p.a().queue_send(data);
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == data.size(); }, 600s));
    EXPECT_TRUE(p.b().received == data);
    EXPECT_GT(p.corrupted, 0u);
    EXPECT_GT(p.a().stats.retrans_segs, 0u);
}

}  // namespace
}  // namespace tapstack::testing
