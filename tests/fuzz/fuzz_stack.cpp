// libFuzzer target: a whole stack fed arbitrary frames on a virtual clock.
//
// The stack (10.77.0.1, 02:00:00:77:00:01, the address of the pcaps/ fixtures) has a TCP listener
// and a UDP socket on port 7, and one ESTABLISHED connection with 10.77.0.2:40000 made by a
// scripted handshake before the fuzzed input starts, so the fuzzer reaches the TCP state machine
// without having to guess an ISN.
//
// Input: a sequence of records, each
//     u8 ctl    bits 0..1 fixups, bits 2..7 how far the clock moves first ((v*v) ms, up to ~4 s)
//     u16 len   big-endian; bit 15 set: an application action (len & 0x0f), no frame follows
//     frame     `len` bytes (fewer if the input ends)
// Fixups, so that mutated frames are not all dropped at the first checksum:
//     bit 0: IPv4 frames get our MAC and IP as destination and correct IP and TCP/UDP/ICMP checksums
//     bit 1: TCP seq/ack are offsets from the established connection's rcv_nxt/snd_nxt
// At the end every socket is aborted or closed and the clock runs ten virtual minutes: the
// stack must then hold no connection at all (a leak check through its own table).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <array>
#include <deque>
#include <vector>

#include <tapstack/stack.hpp>
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/icmp.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/tcp.hpp>
#include <tapstack/wire/udp.hpp>

using namespace tapstack;

namespace {

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)

const link::mac_address our_mac{{0x02, 0x00, 0x00, 0x77, 0x00, 0x01}};
const link::mac_address peer_mac{{0x02, 0x00, 0x00, 0x77, 0x00, 0x02}};
const ip::address_v4 our_ip{10, 77, 0, 1};
const ip::address_v4 peer_ip{10, 77, 0, 2};
constexpr std::uint16_t service_port = 7;
constexpr std::uint16_t peer_port = 40000;
constexpr std::uint32_t peer_iss = 1000000;

bool got(const result<std::size_t>& r) { return r.has_value() && *r > 0; }

struct sink final : link::frame_sink {
    void send_frame(bytes f, instant) override {
        ++count;
        // Every frame the stack emits must parse cleanly as Ethernet.
        FUZZ_CHECK(wire::ethernet_view::parse(f).has_value());
        if (keep) frames.emplace_back(f.begin(), f.end());
    }
    bool keep = false;
    std::size_t count = 0;
    std::deque<std::vector<std::byte>> frames;
};

std::vector<std::byte> tcp_frame(const wire::tcp_segment& seg) {
    std::vector<std::byte> f(14 + 20 + seg.encoded_size());
    wire::ethernet_header{our_mac, peer_mac, static_cast<std::uint16_t>(wire::ether_type::ipv4)}.encode(f);
    wire::ipv4_header h;
    h.source = peer_ip;
    h.destination = our_ip;
    h.protocol = 6;
    h.encode(mutable_bytes{f}.subspan(14), seg.encoded_size());
    wire::encode_tcp(seg, mutable_bytes{f}.subspan(34), ip::address{peer_ip}, ip::address{our_ip});
    return f;
}

struct world {
    stack_config cfg = [] {
        stack_config c;
        c.mac = our_mac;
        c.ipv4 = ip::interface_address{our_ip, 24};
        c.seed = 7;
        c.max_tcp_sockets = 64;
        c.max_syn_backlog = 16;
        c.udp_receive_queue_bytes = 8 * 1024;
        c.tcp.send_buffer_size = 16 * 1024;
        c.tcp.receive_buffer_size = 16 * 1024;
        c.tcp.max_out_of_order_bytes = 8 * 1024;
        return c;
    }();
    sink out;
    tapstack::stack s{cfg, out};
    instant now = instant_from_us(1'000'000);
    socket_handle listener, udp, conn;
    std::vector<socket_handle> extra;  // accepted or connected by actions
    std::uint32_t rcv_nxt = peer_iss + 1;  // the established connection's, as the peer sees it
    std::uint32_t snd_nxt = 0;

    void run_until(instant t) {
        while (true) {
            auto next = s.poll(now);
            if (!next || *next > t) break;
            FUZZ_CHECK(*next >= now);  // a deadline in the past would make the edge spin
            now = *next;
        }
        now = t;
        s.poll(now);
    }

    void setup() {
        // The peer's MAC, as an ARP request would teach it.
        listener = s.tcp_open().value();
        FUZZ_CHECK(s.tcp_bind(listener, ip::endpoint{ip::address{our_ip}, service_port}) == errc::success);
        FUZZ_CHECK(s.tcp_listen(listener, 8) == errc::success);
        udp = s.udp_open().value();
        FUZZ_CHECK(s.udp_bind(udp, ip::endpoint{ip::address{our_ip}, service_port}) == errc::success);

        out.keep = true;
        wire::tcp_segment syn;
        syn.source_port = peer_port;
        syn.destination_port = service_port;
        syn.seq = wire::seq_number{peer_iss};
        syn.flags.syn = true;
        syn.window = 65535;
        syn.options.mss = 1460;
        syn.options.sack_permitted = true;
        syn.options.timestamps = wire::tcp_timestamps{1000, 0};
        syn.options.window_scale = 7;
        auto f = tcp_frame(syn);
        s.receive(f, now);
        s.poll(now);
        // The SYN-ACK may wait for ARP: answer the request, then look for it.
        if (!find_syn_ack()) {
            std::vector<std::byte> arp(60);
            wire::ethernet_header{our_mac, peer_mac, static_cast<std::uint16_t>(wire::ether_type::arp)}.encode(arp);
            const std::uint8_t reply[] = {0, 1, 8, 0, 6, 4, 0, 2};
            std::memcpy(arp.data() + 14, reply, sizeof reply);
            std::memcpy(arp.data() + 22, peer_mac.bytes.data(), 6);
            store_be32(arp, 28, peer_ip.to_uint());
            std::memcpy(arp.data() + 32, our_mac.bytes.data(), 6);
            store_be32(arp, 38, our_ip.to_uint());
            s.receive(arp, now);
            s.poll(now);
            FUZZ_CHECK(find_syn_ack());
        }
        wire::tcp_segment ack;
        ack.source_port = peer_port;
        ack.destination_port = service_port;
        ack.seq = wire::seq_number{rcv_nxt};
        ack.ack = wire::seq_number{snd_nxt};
        ack.flags.ack = true;
        ack.window = 512;
        ack.options.timestamps = wire::tcp_timestamps{1001, 0};
        f = tcp_frame(ack);
        s.receive(f, now);
        s.poll(now);
        auto a = s.tcp_accept(listener, now);
        FUZZ_CHECK(a.has_value());
        conn = *a;
        out.keep = false;
        out.frames.clear();
    }

    bool find_syn_ack() {
        for (const auto& fr : out.frames) {
            auto eth = wire::ethernet_view::parse(fr);
            if (!eth || eth->type() != 0x0800) continue;
            auto ip4 = wire::ipv4_view::parse(eth->payload());
            if (!ip4 || ip4->protocol() != 6) continue;
            auto t = wire::tcp_view::parse_unchecked(ip4->payload());
            if (t && t->flags().syn && t->flags().ack) {
                snd_nxt = t->seq().value() + 1;
                return true;
            }
        }
        return false;
    }

    // Bit 0 fixup: our addresses and correct checksums.
    void fix_addresses_and_checksums(std::vector<std::byte>& f, bool relative_seq) {
        if (f.size() < 14 + 20) return;
        std::memcpy(f.data(), our_mac.bytes.data(), 6);
        store_be16(f, 12, 0x0800);
        mutable_bytes ip4{f.data() + 14, f.size() - 14};
        ip4[0] = std::byte{static_cast<std::uint8_t>((static_cast<std::uint8_t>(ip4[0]) & 0x0f) | 0x40)};
        const std::size_t ihl = (static_cast<std::uint8_t>(ip4[0]) & 0x0f) * 4u;
        if (ihl < 20 || ihl > ip4.size()) return;
        std::size_t total = load_be16(ip4, 2);
        if (total < ihl || total > ip4.size()) {
            total = ip4.size();
            store_be16(ip4, 2, static_cast<std::uint16_t>(std::min<std::size_t>(total, 0xffff)));
            total = load_be16(ip4, 2);
        }
        store_be32(ip4, 16, our_ip.to_uint());
        store_be16(ip4, 6, static_cast<std::uint16_t>(load_be16(ip4, 6) & 0x4000));  // no fragments
        store_be16(ip4, 10, 0);
        store_be16(ip4, 10, wire::internet_checksum(ip4.first(ihl)));
        mutable_bytes l4 = ip4.subspan(ihl, total - ihl);
        const ip::address src{ip::address_v4{load_be32(ip4, 12)}}, dst{our_ip};
        const std::uint8_t proto = static_cast<std::uint8_t>(ip4[9]);
        std::size_t sum_at = 0;
        if (proto == 6 && l4.size() >= 20) {
            if (relative_seq) {
                store_be32(l4, 4, load_be32(l4, 4) + rcv_nxt);
                store_be32(l4, 8, load_be32(l4, 8) + snd_nxt);
            }
            sum_at = 16;
        } else if (proto == 17 && l4.size() >= 8) {
            store_be16(l4, 4, static_cast<std::uint16_t>(l4.size()));
            sum_at = 6;
        } else if (proto == 1 && l4.size() >= 8) {
            store_be16(l4, 2, 0);
            store_be16(l4, 2, wire::internet_checksum(l4));
            return;
        } else {
            return;
        }
        store_be16(l4, sum_at, 0);
        wire::checksum_accumulator acc;
        wire::add_pseudo_header(acc, src, dst, proto, static_cast<std::uint32_t>(l4.size()));
        acc.add(l4);
        std::uint16_t sum = acc.finish();
        if (proto == 17 && sum == 0) sum = 0xffff;
        store_be16(l4, sum_at, sum);
    }

    void action(unsigned what) {
        std::array<std::byte, 4096> buf{};
        switch (what) {
        case 0: (void)s.tcp_send(conn, bytes{buf}.first(1000), now); break;
        case 1:
            while (got(s.tcp_receive(conn, buf, now))) {}
            break;
        case 2: (void)s.tcp_shutdown_send(conn, now); break;
        case 3:
            s.tcp_close(conn, now);
            conn = {};
            break;
        case 4:
            s.tcp_abort(conn, now);
            conn = {};
            break;
        case 5:
            if (auto a = s.tcp_accept(listener, now)) extra.push_back(*a);
            break;
        case 6: (void)s.udp_receive_from(udp, buf); break;
        case 7:
            if (auto h = s.tcp_open()) {
                extra.push_back(*h);
                (void)s.tcp_connect(*h, ip::endpoint{ip::address{peer_ip}, 7}, now);
            }
            break;
        case 8: (void)s.udp_send_to(udp, bytes{buf}.first(100), ip::endpoint{ip::address{peer_ip}, 9}, now); break;
        case 9: (void)s.tcp_set_keep_alive(conn, true, now); break;
        case 10:
            for (auto h : extra) (void)s.tcp_send(h, bytes{buf}.first(3000), now);
            break;
        case 11:
            for (auto h : extra)
                while (got(s.tcp_receive(h, buf, now))) {}
            break;
        case 12:
            for (auto h : extra) s.tcp_close(h, now);
            extra.clear();
            break;
        case 13:
            s.tcp_close(listener, now);
            listener = {};
            break;
        default:
            (void)s.tcp_info(conn);
            (void)format_connections(s);
            break;
        }
    }

    void finish() {
        for (auto h : extra) s.tcp_abort(h, now);
        if (conn.valid()) s.tcp_abort(conn, now);
        if (listener.valid()) s.tcp_close(listener, now);
        s.udp_close(udp);
        // Ten minutes outlast every way a connection can end with a silent peer: an orphan's
        // retransmissions or unanswered probes ((max_orphan_retries + 1) * max_rto), SYN
        // retries (183 s), FIN-WAIT-2 and TIME-WAIT (60 s each).
        constexpr auto bound = std::chrono::minutes{10};
        FUZZ_CHECK((cfg.tcp.max_orphan_retries + 1) * cfg.tcp.max_rto < bound);
        run_until(now + bound);
        std::size_t left = 0;
        s.for_each_tcp([&](const tcp_socket_info&) { ++left; });
        if (left != 0) std::fprintf(stderr, "left after 10 minutes:\n%s", format_connections(s).c_str());
        FUZZ_CHECK(left == 0);
        FUZZ_CHECK(!s.poll(now).has_value());  // nothing left means no timer left either
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    world w;
    w.setup();
    std::size_t i = 0;
    while (i + 3 <= size) {
        const std::uint8_t ctl = data[i];
        const std::uint16_t len = static_cast<std::uint16_t>((data[i + 1] << 8) | data[i + 2]);
        i += 3;
        const unsigned step = ctl >> 2u;
        w.run_until(w.now + std::chrono::milliseconds{step * step});
        if (len & 0x8000u) {
            w.action(len & 0x0fu);
            continue;
        }
        const std::size_t n = std::min<std::size_t>(len, size - i);
        // An exact-size heap copy, so ASan sees any read past the frame.
        std::vector<std::byte> frame(n);
        if (n) std::memcpy(frame.data(), data + i, n);
        i += n;
        if (ctl & 1u) w.fix_addresses_and_checksums(frame, (ctl & 2u) != 0);
        w.s.receive(frame, w.now);
        w.s.poll(w.now);
    }
    w.finish();
    return 0;
}
