// Hardening: resource bounds (lazy rings, the buffer-memory bound, SYN backlog random drop),
// abandoned peers (orphaned FIN-WAIT-2, vanished peers, zero window forever) and the fuzzer's
// regressions, against a scripted peer on a virtual clock.
#include <gtest/gtest.h>
#include <vector>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;
using tcp::seq_number;

namespace {

/// Peer-side state of one connection the test drives by hand.
struct peer_conn {
    std::uint16_t port = 0;
    seq_number snd_nxt;  // the peer's next sequence number
    seq_number rcv_nxt;  // what the peer has received from the stack
};

/// SYN from the peer, the stack's SYN-ACK, the peer's ACK: an accepted connection.
socket_handle open_from_peer(harness& h, socket_handle listener, peer_conn& p, std::uint16_t dport = 7) {
    auto syn = peer_segment(p.port, dport, p.snd_nxt);
    syn.flags.syn = true;
    syn.options.mss = 1460;
    h.inject(h.tcp(syn));
    auto synack = h.next();
    EXPECT_TRUE(synack.tcp && synack.tcp->flags.syn && synack.tcp->flags.ack);
    if (!synack.tcp) return {};
    p.snd_nxt = p.snd_nxt + 1;
    p.rcv_nxt = synack.tcp->seq + 1;
    auto ack = peer_segment(p.port, dport, p.snd_nxt);
    ack.flags.ack = true;
    ack.ack = p.rcv_nxt;
    h.inject(h.tcp(ack));
    auto c = h.stack.tcp_accept(listener, h.now);
    EXPECT_TRUE(c);
    return c ? *c : socket_handle{};
}

std::size_t tcp_entries(const tapstack::stack& s) {
    std::size_t n = 0;
    s.for_each_tcp([&](const tcp_socket_info&) { ++n; });
    return n;
}

std::uint64_t in_use(const harness& h) { return h.stack.stats().tcp.buffer_bytes_in_use; }

}  // namespace

TEST(Hardening, RingsAreAllocatedOnFirstUseAndReturnedAtTheEnd) {
    // Rings that start whole (autotuning, issue 14, starts them small: see
    // tests/unit/tcp/buffer_autotune_test.cpp), so each allocation is the full size.
    auto cfg = harness::default_config();
    cfg.tcp.send_buffer_initial = cfg.tcp.send_buffer_size;
    cfg.tcp.receive_buffer_initial = cfg.tcp.receive_buffer_size;
    harness h{cfg};
    h.learn_peer();
    const auto& tc = h.stack.config().tcp;
    auto l = listen_on(h, 7);
    peer_conn p{40000, seq_number{1000}, {}};
    auto c = open_from_peer(h, l, p);
    ASSERT_TRUE(c.valid());
    h.clear();
    EXPECT_EQ(in_use(h), 0u) << "an idle established connection holds no ring";

    std::vector<std::byte> data(100, std::byte{0x5a});
    ASSERT_EQ(h.stack.tcp_send(c, data, h.now).value(), 100u);
    EXPECT_EQ(in_use(h), tc.send_buffer_size);

    auto d = peer_segment(p.port, 7, p.snd_nxt);
    d.flags.ack = true;
    d.flags.psh = true;
    d.ack = p.rcv_nxt + 100;  // acknowledges our 100 bytes
    d.payload = data;
    h.inject(h.tcp(d));
    p.snd_nxt = p.snd_nxt + 100;
    p.rcv_nxt = p.rcv_nxt + 100;
    EXPECT_GT(in_use(h), tc.send_buffer_size) << "the receive ring came with the first data";

    std::vector<std::byte> out(200);
    EXPECT_EQ(h.stack.tcp_receive(c, out, h.now).value(), 100u);
    h.stack.tcp_close(c, h.now);  // FIN: the send ring (empty, FIN queued) goes back
    auto fin = peer_segment(p.port, 7, p.snd_nxt);
    fin.flags.ack = true;
    fin.flags.fin = true;
    fin.ack = p.rcv_nxt + 1;
    h.inject(h.tcp(fin));  // acks our FIN, sends theirs: TIME-WAIT
    EXPECT_EQ(in_use(h), 0u);
    h.advance(h.stack.config().tcp.msl * 2 + 1s);
    EXPECT_EQ(tcp_entries(h.stack), 1u);  // only the listener
    h.stack.tcp_close(l, h.now);
    EXPECT_EQ(tcp_entries(h.stack), 0u);
    EXPECT_EQ(in_use(h), 0u);
}

TEST(Hardening, BufferMemoryBoundRefusesSendsAndDropsDataCleanly) {
    auto cfg = harness::default_config();
    cfg.tcp.send_buffer_size = 64 * 1024;
    cfg.tcp.receive_buffer_size = 64 * 1024;
    // Rings that start at their maximum (no autotuning room), so the bound bites at once.
    cfg.tcp.send_buffer_initial = 64 * 1024;
    cfg.tcp.receive_buffer_initial = 64 * 1024;
    cfg.tcp.max_buffer_memory = 100 * 1024;  // one send ring fits, a second does not
    harness h{cfg};
    h.learn_peer();
    auto l = listen_on(h, 7);
    peer_conn p1{40001, seq_number{1000}, {}}, p2{40002, seq_number{5000}, {}};
    auto c1 = open_from_peer(h, l, p1);
    auto c2 = open_from_peer(h, l, p2);
    ASSERT_TRUE(c1.valid() && c2.valid());
    std::vector<std::byte> data(10, std::byte{1});
    EXPECT_EQ(h.stack.tcp_send(c1, data, h.now).value(), 10u);
    auto r = h.stack.tcp_send(c2, data, h.now);
    ASSERT_FALSE(r);
    // Issue 14: the send waits for memory (writable later), it no longer fails.
    EXPECT_EQ(r.error(), errc::would_block);
    EXPECT_EQ(h.stack.stats().tcp.buffer_memory_refusals, 1u);
    EXPECT_EQ(h.stack.stats().tcp.buffer_memory_waits, 1u);

    // Data for c2 cannot get a receive ring either: dropped and counted, nothing ACKed.
    h.clear();
    auto d = peer_segment(p2.port, 7, p2.snd_nxt);
    d.flags.ack = true;
    d.ack = p2.rcv_nxt;
    d.payload = data;
    h.inject(h.tcp(d));
    EXPECT_EQ(h.stack.stats().tcp.buffer_memory_drops, 1u);
    EXPECT_EQ(h.stack.tcp_info(c2).value().recv_q, 0u);
    EXPECT_LE(in_use(h), cfg.tcp.max_buffer_memory);

    // Once c1 is gone the memory is back and c2 works.
    h.stack.tcp_abort(c1, h.now);
    EXPECT_EQ(in_use(h), 0u);
    h.inject(h.tcp(d));  // the peer's retransmission
    EXPECT_EQ(h.stack.tcp_info(c2).value().recv_q, 10u);
}

TEST(Hardening, SynFloodDoesNotLockOutARealClient) {
    auto cfg = harness::default_config();
    cfg.max_syn_backlog = 32;
    cfg.syn_cookies = false;  // random drop (RFC 4987 §3.4); with cookies: socket/syn_cookie_test.cpp
    harness h{cfg};
    h.learn_peer();
    auto l = listen_on(h, 7, 64);
    // 5000 SYNs from ports that never answer (the SYN-ACKs all go to the peer's MAC).
    for (std::uint32_t i = 0; i < 5000; ++i) {
        auto syn = peer_segment(static_cast<std::uint16_t>(1024 + i), 7, seq_number{i * 7919u});
        syn.flags.syn = true;
        h.inject(h.tcp(syn));
        if (i % 100 == 0) h.advance(10ms);
    }
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_evictions, 5000u - 32u);
    EXPECT_EQ(tcp_entries(h.stack), 33u);  // the listener and a full backlog, no more
    EXPECT_EQ(in_use(h), 0u) << "half-open connections hold no buffers";
    h.clear();
    // A real client in the middle of the flood gets in.
    peer_conn p{60000, seq_number{42}, {}};
    auto c = open_from_peer(h, l, p);
    ASSERT_TRUE(c.valid());
    EXPECT_EQ(h.stack.tcp_info(c).value().state, tcp::state::established);
    // The flood's entries time out (SYN-ACK retransmissions) and everything is freed.
    h.stack.tcp_abort(c, h.now);
    h.advance(10min);
    EXPECT_EQ(tcp_entries(h.stack), 1u);
    EXPECT_FALSE(h.stack.tcp_accept(l, h.now));
}

// fuzz_stack regression (tests/fuzz/regressions/fuzz_stack/listener-close-half-open-uaf.bin):
// closing a listener while a child is in SYN-RECEIVED left the child pointing at the freed
// listener; its SYN-ACK timeout then wrote into freed memory.
TEST(Hardening, ClosingAListenerFreesItsHalfOpenChildren) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 7);
    auto syn = peer_segment(40000, 7, seq_number{1});
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    EXPECT_EQ(tcp_entries(h.stack), 2u);
    h.stack.tcp_close(l, h.now);
    h.advance(5min);
    EXPECT_EQ(tcp_entries(h.stack), 0u);
    EXPECT_FALSE(h.stack.poll(h.now).has_value());
}

// fuzz_stack found it too: an application closes, the peer ACKs our FIN and then vanishes.
TEST(Hardening, OrphanedFinWait2TimesOut) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 7);
    peer_conn p{40000, seq_number{1000}, {}};
    auto c = open_from_peer(h, l, p);
    h.stack.tcp_close(c, h.now);
    auto ack = peer_segment(p.port, 7, p.snd_nxt);
    ack.flags.ack = true;
    ack.ack = p.rcv_nxt + 1;
    h.inject(h.tcp(ack));
    bool in_fin_wait_2 = false;
    h.stack.for_each_tcp([&](const tcp_socket_info& i) { in_fin_wait_2 |= i.state == tcp::state::fin_wait_2; });
    EXPECT_TRUE(in_fin_wait_2);
    h.advance(h.stack.config().tcp.fin_wait_2_timeout + 1s);
    EXPECT_EQ(h.stack.stats().tcp.fin_wait_2_timeouts, 1u);
    EXPECT_EQ(tcp_entries(h.stack), 1u);  // the listener
}

TEST(Hardening, HalfClosedButStillReadingIsNotAnOrphan) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 7);
    peer_conn p{40000, seq_number{1000}, {}};
    auto c = open_from_peer(h, l, p);
    ASSERT_EQ(h.stack.tcp_shutdown_send(c, h.now), errc::success);
    auto ack = peer_segment(p.port, 7, p.snd_nxt);
    ack.flags.ack = true;
    ack.ack = p.rcv_nxt + 1;
    h.inject(h.tcp(ack));
    h.advance(h.stack.config().tcp.fin_wait_2_timeout * 3);
    EXPECT_EQ(h.stack.tcp_info(c).value().state, tcp::state::fin_wait_2);
    EXPECT_EQ(h.stack.stats().tcp.fin_wait_2_timeouts, 0u);
}

TEST(Hardening, PeerThatVanishesMidTransferIsDetectedAndFreed) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 7);
    peer_conn p{40000, seq_number{1000}, {}};
    auto c = open_from_peer(h, l, p);
    std::vector<std::byte> data(20000, std::byte{7});
    ASSERT_GT(h.stack.tcp_send(c, data, h.now).value(), 0u);
    EXPECT_GT(in_use(h), 0u);
    // No ACK, no FIN, no RST ever again.
    h.advance(60min);
    EXPECT_GE(h.stack.stats().tcp.connections_timed_out, 1u);
    EXPECT_EQ(h.stack.tcp_error(c), errc::timed_out);
    EXPECT_EQ(h.stack.tcp_info(c).value().state, tcp::state::closed);
    EXPECT_EQ(in_use(h), 0u) << "the send ring went back when the connection died";
    h.stack.tcp_close(c, h.now);
    EXPECT_EQ(tcp_entries(h.stack), 1u);
}

TEST(Hardening, IdlePeerThatVanishesIsFoundByKeepalive) {
    auto cfg = harness::default_config();
    cfg.tcp.keepalive_idle = 60s;
    cfg.tcp.keepalive_interval = 5s;
    cfg.tcp.keepalive_probes = 3;
    harness h{cfg};
    h.learn_peer();
    auto l = listen_on(h, 7);
    peer_conn p{40000, seq_number{1000}, {}};
    auto c = open_from_peer(h, l, p);
    ASSERT_EQ(h.stack.tcp_set_keep_alive(c, true, h.now), errc::success);
    h.clear();
    h.advance(59s);
    EXPECT_EQ(h.pending(), 0u);
    h.advance(60s);
    EXPECT_EQ(h.stack.stats().tcp.keepalive_probes, 3u);
    EXPECT_EQ(h.stack.tcp_error(c), errc::timed_out);
    EXPECT_EQ(h.stack.tcp_info(c).value().state, tcp::state::closed);
}

TEST(Hardening, ZeroWindowForeverDoesNotSpin) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 7);
    peer_conn p{40000, seq_number{1000}, {}};
    auto c = open_from_peer(h, l, p);
    // The peer closes its window, then answers every probe with window 0, forever.
    auto zw = peer_segment(p.port, 7, p.snd_nxt);
    zw.flags.ack = true;
    zw.ack = p.rcv_nxt;
    zw.window = 0;
    h.inject(h.tcp(zw));
    std::vector<std::byte> data(5000, std::byte{3});
    ASSERT_GT(h.stack.tcp_send(c, data, h.now).value(), 0u);
    h.clear();
    std::size_t polls = 0, frames = 0;
    std::vector<instant> probe_times;
    const instant end = h.now + 30min;
    while (h.now < end) {
        auto next = h.stack.poll(h.now);
        ++polls;
        ASSERT_LT(polls, 10000u) << "the stack asks to be woken up too often";
        if (!next) break;
        ASSERT_GT(*next, h.now) << "a deadline that is not in the future makes the edge spin";
        h.now = std::min(*next, end);
        h.stack.poll(h.now);
        while (h.pending()) {
            auto f = h.next();
            if (f.arp) {  // the peer's ARP entry expires now and then: answer
                h.inject(h.arp_reply());
                continue;
            }
            ++frames;
            if (!f.tcp) continue;
            probe_times.push_back(h.now);
            zw.ack = f.tcp->seq;  // nothing accepted: ACK what was there before the probe
            if (f.tcp->payload.empty()) zw.ack = p.rcv_nxt;
            h.inject(h.tcp(zw));
        }
    }
    // Persist timer (RFC 9293 §3.8.6.1, RFC 1122 4.2.2.17): probes keep coming while the peer
    // answers, with exponential backoff bounded by max_rto: in 30 min, not thousands.
    EXPECT_GE(h.stack.stats().tcp.zero_window_probes, 5u);
    EXPECT_LE(frames, 30u * 60 / 30 + 20) << "probes are spaced by the backed-off interval";
    ASSERT_GE(probe_times.size(), 4u);
    const auto gap_early = probe_times[1] - probe_times[0];
    const auto gap_late = probe_times.back() - probe_times[probe_times.size() - 2];
    EXPECT_GT(gap_late, gap_early);
    EXPECT_LE(gap_late, h.stack.config().tcp.max_rto + 1s);
    EXPECT_EQ(h.stack.tcp_info(c).value().state, tcp::state::established) << "an answering peer is not dropped";
}
