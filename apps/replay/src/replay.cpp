// The replay engine: see <tapstack/replay/replay.hpp>. Two passes over the capture: the first
// validates it and learns the host (MAC, the TCP ports it accepted, the UDP ports it answered
// from); the second feeds the frames the host received into a fresh stack at the capture's
// timestamps and summarises both the recorded host's frames and the stack's, per flow. The
// comparison (compare.cpp) aligns the two summaries of each flow; frame.cpp parses frames,
// report.cpp prints the result.
#include <tapstack/replay/replay.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <tapstack/stack.hpp>
#include <tapstack/tap/pcap_reader.hpp>
#include <tapstack/tap/pcap_writer.hpp>
#include <tapstack/stats.hpp>
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/ethernet.hpp>
#include "compare.hpp"
#include "frame.hpp"
#include "replay_services.hpp"

namespace tapstack::tap {

std::optional<replay_app> replay_app_from_string(std::string_view s) noexcept {
    if (s == "echo") return replay_app::echo;
    if (s == "discard") return replay_app::discard;
    if (s == "chargen") return replay_app::chargen;
    if (s == "http-hello") return replay_app::http_hello;
    if (s == "none") return replay_app::none;
    return std::nullopt;
}

std::string_view to_string(replay_app a) noexcept {
    switch (a) {
    case replay_app::echo: return "echo";
    case replay_app::discard: return "discard";
    case replay_app::chargen: return "chargen";
    case replay_app::http_hello: return "http-hello";
    case replay_app::none: return "none";
    }
    return "?";
}

namespace {

using namespace detail;

// --- the replayed stack's output ------------------------------------------------------------

class replay_sink final : public link::frame_sink {
public:
    replay_sink(flow_table& flows, pcap_writer* out) : flows_{&flows}, out_{out} {}
    void send_frame(bytes frame, instant now) override {
        if (muted_) return;  // the answer to a neighbor-cache primer the engine made up
        if (out_ != nullptr) out_->write(frame, now);
        const auto p = parse_frame(frame);
        auto& flow = flows_->get(key_of(p, true));
        flow.replayed_frames.push_back(summarize(frame, p, emitted_, to_us(now), flow, flow.replayed));
        ++emitted_;
    }
    std::uint64_t emitted() const noexcept { return emitted_; }
    void mute(bool on) noexcept { muted_ = on; }

private:
    bool muted_ = false;
    flow_table* flows_;
    pcap_writer* out_;
    std::uint64_t emitted_ = 0;
};

// --- input ------------------------------------------------------------------------------------

std::unique_ptr<pcap_reader> open_capture(const std::string& path) {
    try {
        return std::make_unique<pcap_reader>(path);
    } catch (const pcap_error& e) { throw replay_error{e.what()}; }
}

std::optional<pcap_record> next_record(pcap_reader& r) {
    std::optional<pcap_record> rec;
    try {
        rec = r.next();
    } catch (const pcap_error& e) { throw replay_error{std::string{e.what()} + " (truncated or corrupt capture)"}; }
    if (!rec) return rec;
    if (rec->frame.size() < wire::ethernet_header_size)
        throw replay_error{"replay: " + r.path() + ": record " + std::to_string(rec->index) + " is " +
                           std::to_string(rec->frame.size()) + " bytes, shorter than an Ethernet header (14)"};
    if (rec->original_length > rec->frame.size())
        throw replay_error{"replay: " + r.path() + ": record " + std::to_string(rec->index) + " was cut to " +
                           std::to_string(rec->frame.size()) + " of " + std::to_string(rec->original_length) +
                           " bytes by the snaplen (record with -s 0)"};
    return rec;
}

struct first_pass {
    std::optional<link::mac_address> host_mac;
    bool mentioned = false;
    std::set<std::uint16_t> tcp_ports;  // the host answered a SYN from these (SYN-ACK)
    std::set<std::uint16_t> udp_ports;  // the host sent datagrams from these
    std::uint64_t frames = 0;
    std::chrono::nanoseconds first{0}, last{0};
};

first_pass scan(const std::string& path, ip::address_v4 host, const std::optional<ip::address_v6>& host6,
                const std::optional<link::mac_address>& given_mac) {
    first_pass fp;
    auto reader = open_capture(path);
    const std::uint32_t h = host.to_uint();
    auto is_host = [&](const parsed_frame& p, bool src) {
        if (p.ipv4) return (src ? p.src_ip : p.dst_ip) == h;
        return p.ipv6 && host6 && (src ? p.src : p.dst) == ip::address{*host6};
    };
    std::optional<link::mac_address> learned_src, learned_dst;
    while (auto rec = next_record(*reader)) {
        if (fp.frames == 0) fp.first = rec->timestamp;
        fp.last = rec->timestamp;
        ++fp.frames;
        const auto p = parse_frame(rec->frame);
        const bool from = is_host(p, true) || (p.kind == flow_kind::arp && p.arp_sip == h);
        const bool to = is_host(p, false) || (p.kind == flow_kind::arp && p.arp_tip == h);
        fp.mentioned = fp.mentioned || from || to;
        if (from && !learned_src) learned_src = p.src_mac;
        if (is_host(p, false) && !p.dst_mac.is_multicast() && !learned_dst) learned_dst = p.dst_mac;
        const link::mac_address mac = given_mac ? *given_mac : learned_src.value_or(link::mac_address{});
        if ((given_mac || learned_src) && p.src_mac == mac && is_host(p, true)) {
            if (p.kind == flow_kind::tcp && (load_u8(rec->frame, p.l4_off + 13) & 0x12) == 0x12)
                fp.tcp_ports.insert(p.sport);
            if (p.kind == flow_kind::udp) fp.udp_ports.insert(p.sport);
        }
    }
    if (fp.frames == 0) throw replay_error{"replay: " + path + ": the capture holds no frames"};
    if (!fp.mentioned)
        throw replay_error{"replay: " + path + ": the capture never mentions the host " +
                           (host6 ? host6->to_string() : host.to_string()) + " (wrong --host-ip?)"};
    fp.host_mac = given_mac ? given_mac : learned_src ? learned_src : learned_dst;
    if (!fp.host_mac)
        throw replay_error{"replay: " + path +
                           ": cannot tell the host's MAC address from the capture (give --host-mac)"};
    return fp;
}

/// Rewrites a TCP segment the peer sent from the recorded host's sequence space into the
/// stack's: ACK, SACK blocks (RFC 2018) and TSecr (RFC 7323 §3) move by the difference of the
/// two sides' ISNs and first TSvals; then the checksum is recomputed over the pseudo-header.
void translate_tcp(mutable_bytes f, const parsed_frame& p, const flow_state& flow) {
    const std::size_t o = p.l4_off;
    const auto mf = bytes{f};
    if (flow.recorded.isn && flow.replayed.isn) {
        const std::uint32_t d = *flow.replayed.isn - *flow.recorded.isn;
        if ((load_u8(mf, o + 13) & 0x10) != 0) store_be32(f, o + 8, load_be32(mf, o + 8) + d);
        const auto pos = walk_options(mf, o + 20, p.tcp_hdr_len - 20, nullptr);
        for (std::size_t b = 0; pos.sack != 0 && b < pos.sack_blocks; ++b) {
            const std::size_t at = pos.sack + 2 + 8 * b;
            store_be32(f, at, load_be32(mf, at) + d);
            store_be32(f, at + 4, load_be32(mf, at + 4) + d);
        }
    }
    if (flow.recorded.ts0 && flow.replayed.ts0) {
        const auto pos = walk_options(mf, o + 20, p.tcp_hdr_len - 20, nullptr);
        if (pos.ts != 0 && load_be32(mf, pos.ts + 6) != 0)
            store_be32(f, pos.ts + 6, load_be32(mf, pos.ts + 6) + (*flow.replayed.ts0 - *flow.recorded.ts0));
    }
}

/// Recomputes a TCP or UDP checksum (the capture may hold partial ones from checksum offload).
void fix_l4_checksum(mutable_bytes f, const parsed_frame& p) {
    const std::size_t at = p.kind == flow_kind::tcp ? p.l4_off + 16 : p.l4_off + 6;
    if (p.kind == flow_kind::udp && load_be16(bytes{f}, at) == 0) return;  // RFC 768: no checksum
    store_be16(f, at, 0);
    wire::checksum_accumulator acc;
    wire::add_pseudo_header(acc, p.src, p.dst, p.kind == flow_kind::tcp ? std::uint8_t{6} : std::uint8_t{17},
                            static_cast<std::uint32_t>(p.l4_len));
    acc.add(bytes{f}.subspan(p.l4_off, p.l4_len));
    std::uint16_t c = acc.finish();
    if (p.kind == flow_kind::udp && c == 0) c = 0xffff;
    store_be16(f, at, c);
}

/// One replay, as named steps: read the capture and identify the host and its services
/// (scan), build the stack as that host, run the virtual-clock loop over the records, let the
/// timers run out, then compare the flows and report. replay_capture() is run() on a fresh one.
class replay_run {
public:
    replay_run(const std::string& pcap_path, const replay_options& opts);
    replay_run(const replay_run&) = delete;
    replay_run& operator=(const replay_run&) = delete;

    replay_report run();

private:
    static void check_tolerance(const replay_options& opts);
    stack_config make_config() const;
    std::unique_ptr<pcap_writer> open_output() const;
    instant instant_of(std::chrono::nanoseconds timestamp) const;

    // The virtual clock.
    void settle(instant t);
    void serve_deterministic(instant t);
    void receive(bytes frame, instant t);
    void advance_to(instant t);
    void run_records();
    void run_tail();

    // One record.
    void on_record(const pcap_record& rec);
    void on_host_frame(const pcap_record& rec, const parsed_frame& p, instant t);
    void on_frame_to_host(const pcap_record& rec, const parsed_frame& p, instant t);
    void prime_arp(const parsed_frame& p, instant t);
    void prime_ndp(const parsed_frame& p, instant t);
    void prepare_tcp(const pcap_record& rec, const parsed_frame& p);

    // Whose frame it is.
    bool is_host6(const ip::address& a) const;
    bool is_host_group6(const ip::address& a) const;
    bool to_host(const parsed_frame& p) const;
    bool for_host(const parsed_frame& p) const;

    void compare_flows();

    const std::string& path_;
    const replay_options& opts_;
    const first_pass capture_;
    const link::mac_address host_mac_;
    const std::uint32_t host_ip_;
    // The virtual clock's origin: t=0 at the first record, or (deterministic) the recording
    // stack's own t=0, which its pcap writes as the Unix epoch.
    const std::chrono::nanoseconds origin_;
    const stack_config cfg_;
    std::unique_ptr<pcap_writer> out_;
    flow_table flows_;
    replay_sink sink_;
    tapstack::stack st_;
    detail::replay_services services_;
    // The host's IPv6 addresses: the global one given and the link-local one from the MAC
    // (RFC 4291 App. A, Linux's default addr_gen_mode), which the stack derives the same way.
    std::optional<ip::address> host6_, host_ll_;
    replay_report report_;

    instant now_{};
    std::optional<instant> stack_next_;
    // Deterministic: the records drive the clock (nothing polls between them) until the
    // capture ends; then timers run at their deadlines as in the normal mode.
    bool records_drive_clock_;

    // Peers whose MAC the stack learned from the capture's own ARP, and those it was taught
    // (with the time): the recorded host knew them without ARP (e.g. a permanent neighbour
    // entry), so the lesson is repeated before the stack's ARP entry would expire.
    std::set<std::uint32_t> arp_peers_;
    std::map<std::uint32_t, instant> primed_peers_;
    std::set<ip::address> nd_peers_, primed6_;  // the same for IPv6 neighbors
    std::vector<std::byte> buf_;
};

replay_run::replay_run(const std::string& pcap_path, const replay_options& opts)
    : path_{pcap_path},
      opts_{opts},
      capture_{(check_tolerance(opts), scan(pcap_path, opts.host_ip, opts.host_ip6, opts.host_mac))},
      host_mac_{*capture_.host_mac},
      host_ip_{opts.host_ip.to_uint()},
      origin_{opts.deterministic ? std::chrono::nanoseconds{0} : capture_.first},
      cfg_{make_config()},
      out_{open_output()},
      sink_{flows_, out_.get()},
      st_{cfg_, sink_},
      services_{st_, opts.app, opts.idle_close},
      records_drive_clock_{opts.deterministic} {
    services_.open(capture_.tcp_ports, capture_.udp_ports, opts_.host_ip6.has_value());
    report_.input = path_;
    report_.host_ip = opts_.host_ip;
    report_.host_mac = host_mac_;
    report_.host_ip6 = opts_.host_ip6;
    if (opts_.host_ip6) {
        host6_ = ip::address{*opts_.host_ip6};
        host_ll_ = ip::address{st_.ipv6_link_local()};
    }
}

void replay_run::check_tolerance(const replay_options& opts) {
    for (const auto& f : opts.tolerance.ignored_fields)
        if (std::find(replay_fields().begin(), replay_fields().end(), f) == replay_fields().end())
            throw replay_error{"replay: unknown field '" + f + "' in the tolerance"};
}

stack_config replay_run::make_config() const {
    stack_config cfg;
    cfg.mac = host_mac_;
    cfg.ipv4 = ip::interface_address{opts_.host_ip, opts_.prefix_length};
    cfg.seed = opts_.seed;
    cfg.deterministic = opts_.deterministic;
    if (opts_.deterministic && capture_.first > std::chrono::hours{24})
        throw replay_error{"replay: " + path_ +
                           ": --deterministic needs a capture stamped with the stack's own clock "
                           "(echo-server --pcap FILE --seed N --deterministic); this one starts at Unix time " +
                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(capture_.first).count()) +
                           " s"};
    if (opts_.host_ip6) {
        cfg.ipv6 = ip::interface_address_v6{*opts_.host_ip6, opts_.prefix_length6};
        // The recorded host's addresses were valid before the capture began: no DAD (RFC 4862
        // §5.4) and no router solicitation at start-up, neither of which the capture can show.
        cfg.dad_transmits = 0;
        cfg.ipv6_send_router_solicitation = false;
    }
    if (auto err = cfg.validate()) throw replay_error{"replay: bad stack configuration: " + *err};
    return cfg;
}

std::unique_ptr<pcap_writer> replay_run::open_output() const {
    if (opts_.out_path.empty()) return nullptr;
    std::unique_ptr<pcap_writer> out;
    try {
        out = std::make_unique<pcap_writer>(opts_.out_path);
    } catch (const std::exception& e) { throw replay_error{std::string{"replay: "} + e.what()}; }
    out->set_epoch(origin_);  // output timestamps on the capture's own clock
    return out;
}

instant replay_run::instant_of(std::chrono::nanoseconds timestamp) const {
    return instant_from_us(std::chrono::duration_cast<std::chrono::microseconds>(timestamp - origin_).count());
}

replay_report replay_run::run() {
    // The virtual clock: t=0 at the first record. Between records, timers (the stack's and
    // the services') fire at their own deadlines.
    stack_next_ = st_.poll(now_);
    settle(now_);
    run_records();
    run_tail();
    compare_flows();
    return std::move(report_);
}

// --- the virtual clock --------------------------------------------------------------------------

/// Lets the services and the stack answer each other at `t` until neither has more to do: the
/// services run every completion that is ready, then the stack polls, and again while the poll
/// made more ready (an ACK that opened the window, a FIN, ...).
void replay_run::settle(instant t) {
    services_.run(t);
    stack_next_ = st_.poll(t);
    for (int rounds = 1; rounds < 64 && services_.run(t) != 0; ++rounds) stack_next_ = st_.poll(t);
}

/// Deterministic: the app acts at the instant of the frame that woke it (the stack ignores
/// the `now` of socket calls anyway), and nothing polls between records.
void replay_run::serve_deterministic(instant t) { services_.run(t); }

/// Feeds one frame at `t` (a datagram service answers from inside the stack's receive, on the
/// clock the services see).
void replay_run::receive(bytes frame, instant t) {
    services_.at(t);
    st_.receive(frame, t);
}

/// Moves the clock to `t`, firing the stack's and the services' timers due on the way.
void replay_run::advance_to(instant t) {
    if (records_drive_clock_) {
        now_ = std::max(now_, t);
        return;
    }
    for (std::uint64_t guard = 0; guard < 10'000'000; ++guard) {
        std::optional<instant> d = stack_next_;
        const auto app_next = services_.deadline();
        if (app_next && (!d || *app_next < *d)) d = app_next;
        if (!d || *d > t) break;
        now_ = std::max(now_, *d);
        services_.on_timer(now_);
        settle(now_);
        if (stack_next_ && *stack_next_ <= now_) stack_next_ = now_ + duration{1};  // a timer that did not move
    }
    now_ = std::max(now_, t);
}

void replay_run::run_records() {
    auto reader = open_capture(path_);
    while (auto rec = next_record(*reader)) on_record(*rec);
}

/// After the last record, timers keep running for opts.tail (delayed ACKs, FIN).
void replay_run::run_tail() {
    if (opts_.deterministic) {
        // After the capture, timers run at their deadlines again (as in the normal mode).
        stack_next_ = st_.poll(now_);
        settle(now_);
        records_drive_clock_ = false;
    }
    advance_to(instant_of(capture_.last) + opts_.tail);
    if (out_) out_->flush();
}

// --- one record ---------------------------------------------------------------------------------

void replay_run::on_record(const pcap_record& rec) {
    ++report_.frames;
    const instant t = instant_of(rec.timestamp);
    advance_to(t);
    const auto p = parse_frame(rec.frame);
    if (p.src_mac == host_mac_) return on_host_frame(rec, p, t);
    if (!for_host(p)) {
        ++report_.frames_ignored;
        return;
    }
    on_frame_to_host(rec, p, t);
}

/// A frame the recorded host sent: what the stack's frames are compared with.
void replay_run::on_host_frame(const pcap_record& rec, const parsed_frame& p, instant t) {
    ++report_.frames_by_host;
    auto& flow = flows_.get(key_of(p, true));
    const auto idx = static_cast<std::int64_t>(rec.index);
    flow.recorded_frames.push_back(summarize(rec.frame, p, idx, to_us(t), flow, flow.recorded));
    if (opts_.deterministic && sink_.emitted() < report_.frames_by_host) {
        // The recorded stack sent a frame here that the replayed one has not: a timer
        // its runtime woke at this instant (the app then acted at the same instant).
        stack_next_ = st_.poll(t);
        services_.on_timer(t);
        serve_deterministic(t);
    }
}

/// A frame the recorded host received: fed to the stack (after teaching it the neighbor the
/// host already knew, and translating TCP into the stack's sequence space).
void replay_run::on_frame_to_host(const pcap_record& rec, const parsed_frame& p, instant t) {
    ++report_.frames_to_host;
    buf_.assign(rec.frame.begin(), rec.frame.end());
    if (p.kind == flow_kind::arp) arp_peers_.insert(p.arp_sip);
    prime_arp(p, t);
    if (p.kind == flow_kind::ndp) nd_peers_.insert(p.src);
    prime_ndp(p, t);
    if (p.kind == flow_kind::tcp && to_host(p)) {
        prepare_tcp(rec, p);
    } else if (p.kind == flow_kind::udp && to_host(p)) {
        fix_l4_checksum(mutable_bytes{buf_}, p);
    }
    receive(bytes{buf_}, t);
    if (opts_.deterministic)
        serve_deterministic(t);
    else
        settle(t);
}

/// The recorded host knew this peer's MAC before the capture began (or from a static entry):
/// teach the stack with an unsolicited ARP reply addressed to it, which RFC 826 merges without
/// answering.
void replay_run::prime_arp(const parsed_frame& p, instant t) {
    const auto primed = primed_peers_.find(p.src_ip);
    if (opts_.deterministic || !p.ipv4 || p.dst_ip != host_ip_ || arp_peers_.contains(p.src_ip)) return;
    if (primed != primed_peers_.end() && t - primed->second < cfg_.arp_entry_lifetime / 2) return;
    std::array<std::byte, 42> arp{};
    for (std::size_t i = 0; i < 6; ++i) {
        arp[i] = std::byte{host_mac_.bytes[i]};
        arp[6 + i] = std::byte{p.src_mac.bytes[i]};
        arp[22 + i] = std::byte{p.src_mac.bytes[i]};
        arp[32 + i] = std::byte{host_mac_.bytes[i]};
    }
    const mutable_bytes a{arp};
    store_be16(a, 12, 0x0806);
    store_be16(a, 14, 1);
    store_be16(a, 16, 0x0800);
    store_u8(a, 18, 6);
    store_u8(a, 19, 4);
    store_be16(a, 20, 2);
    store_be32(a, 28, p.src_ip);
    store_be32(a, 38, host_ip_);
    receive(bytes{arp}, t);
    primed_peers_[p.src_ip] = t;
}

/// As prime_arp: the recorded host knew this neighbor already. An unsolicited NA would be
/// dropped (RFC 4861 §7.2.5: no entry to update), so the stack is taught with an NS from the
/// peer, which creates a STALE entry (§7.2.3); the stack's NA answering it is not part of the
/// replay (muted).
void replay_run::prime_ndp(const parsed_frame& p, instant t) {
    if (opts_.deterministic || !p.ipv6 || !is_host6(p.dst) || p.kind == flow_kind::ndp || nd_peers_.contains(p.src) ||
        p.src.is_unspecified() || primed6_.contains(p.src))
        return;
    std::array<std::byte, 86> ns{};
    const mutable_bytes n{ns};
    const auto& tgt = p.dst.key_bytes();
    for (std::size_t i = 0; i < 6; ++i) {
        ns[6 + i] = std::byte{p.src_mac.bytes[i]};
        ns[80 + i] = std::byte{p.src_mac.bytes[i]};
    }
    store_be16(n, 0, 0x3333);
    store_u8(n, 2, 0xff);
    for (std::size_t i = 0; i < 3; ++i) store_u8(n, 3 + i, tgt[13 + i]);
    store_be16(n, 12, 0x86dd);
    store_u8(n, 14, 0x60);
    store_be16(n, 18, 32);
    store_u8(n, 20, 58);
    store_u8(n, 21, 255);
    ip::address_v6::bytes_type dst{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, tgt[13], tgt[14], tgt[15]};
    for (std::size_t i = 0; i < 16; ++i) {
        store_u8(n, 22 + i, p.src.key_bytes()[i]);
        store_u8(n, 38 + i, dst[i]);
        store_u8(n, 62 + i, tgt[i]);
    }
    store_u8(n, 54, 135);
    store_u8(n, 78, 1);  // source link-layer address option
    store_u8(n, 79, 1);
    wire::checksum_accumulator acc;
    wire::add_pseudo_header(acc, p.src, ip::address_v6{dst}, 58, 32);
    acc.add(bytes{ns}.subspan(54, 32));
    store_be16(n, 56, acc.finish());
    sink_.mute(true);
    receive(bytes{ns}, t);
    settle(t);
    sink_.mute(false);
    primed6_.insert(p.src);
}

/// A peer's TCP segment: a SYN starts a new connection (both sides will choose new ISNs);
/// the rest moves into the stack's sequence space.
void replay_run::prepare_tcp(const pcap_record& rec, const parsed_frame& p) {
    auto& flow = flows_.get(key_of(p, false));
    const std::uint8_t flags = load_u8(rec.frame, p.l4_off + 13);
    if ((flags & 0x02) != 0 && (flags & 0x10) == 0) {
        flow.peer_isn = load_be32(rec.frame, p.l4_off + 4);
        flow.recorded = {};
        flow.replayed = {};
    }
    if (opts_.translate) translate_tcp(mutable_bytes{buf_}, p, flow);
    fix_l4_checksum(mutable_bytes{buf_}, p);
}

// --- whose frame it is ------------------------------------------------------------------------

bool replay_run::is_host6(const ip::address& a) const {
    return (host6_ && a == *host6_) || (host_ll_ && a == *host_ll_);
}

/// Multicast the host listens to: all-nodes and its solicited-node groups (RFC 4291 §2.7.1).
bool replay_run::is_host_group6(const ip::address& a) const {
    if (!host6_ || !a.is_v6()) return false;
    const auto& b = a.key_bytes();
    static constexpr std::array<std::uint8_t, 13> sn{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
    if (a == ip::address{*ip::address_v6::from_string("ff02::1")}) return true;
    if (!std::equal(sn.begin(), sn.end(), b.begin())) return false;
    for (const auto& own : {*host6_, *host_ll_})
        if (std::equal(b.begin() + 13, b.end(), own.key_bytes().begin() + 13)) return true;
    return false;
}

bool replay_run::to_host(const parsed_frame& p) const {
    return (p.ipv4 && p.dst_ip == host_ip_) || (p.ipv6 && is_host6(p.dst));
}

/// Addressed to the host's MAC, broadcast, or multicast to one of its addresses or groups.
bool replay_run::for_host(const parsed_frame& p) const {
    return p.dst_mac == host_mac_ || p.dst_mac.is_broadcast() ||
        (p.dst_mac.is_multicast() && p.ipv4 && p.dst_ip == host_ip_) ||
        (p.dst_mac.is_multicast() && p.ipv6 && (is_host6(p.dst) || is_host_group6(p.dst)));
}

// --- compare and report -------------------------------------------------------------------------

void replay_run::compare_flows() {
    report_.frames_emitted = sink_.emitted();
    report_.stack_stats = format_stats(st_.stats());
    report_.capture_duration_us =
        std::chrono::duration_cast<std::chrono::microseconds>(capture_.last - capture_.first).count();
    for (auto& f : flows_.all()) {
        auto r = compare_flow(*f, opts_.tolerance, opts_.max_details_per_flow);
        r.name = flow_name(f->key, opts_.host_ip, opts_.host_ip6);
        report_.flows.push_back(std::move(r));
    }
    // The replay is over: the services close their connections as they go away (after this),
    // and what the stack sends then is neither compared nor written.
    sink_.mute(true);
}

}  // namespace

replay_report replay_capture(const std::string& pcap_path, const replay_options& opts) {
    return replay_run{pcap_path, opts}.run();
}

}  // namespace tapstack::tap
