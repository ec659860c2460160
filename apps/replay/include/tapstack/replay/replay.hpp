#pragma once
// Replaying a capture against a fresh stack: the frames a recorded host *received* are fed to a
// tapstack configured as that host (on a virtual clock taken from the capture's timestamps),
// and the frames the stack emits are compared, flow by flow, with the frames the recorded host
// *sent*. Used by apps/replay, the replay tests (tests/replay/) and bench/replay_bench.
//
// TCP sequence space: the recorded host chose its own ISNs and TSvals. The engine learns both
// sides' ISN and first TSval of every connection and translates the peer's ACK numbers, SACK
// blocks and TSecr from the recorded host's space into tapstack's before feeding a segment
// (the TCP checksum is recomputed); the comparison then looks at both sides' sequence and
// timestamp values relative to their own ISN / first TSval, so captures from any host replay.
//
// Deterministic mode (replay_options::deterministic): a capture tapstack wrote of itself
// (echo-server --pcap --seed N --deterministic) replays byte for byte, timestamps included.
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <tapstack/base/time.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/link/mac.hpp>

namespace tapstack::tap {

/// The input cannot be replayed (missing or corrupt file, wrong link type, a record shorter
/// than an Ethernet header or cut by the snaplen, a capture that never mentions the host).
/// The message is one line naming the file and the cause.
class replay_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The service listening in the replayed stack: echo-server's and http-hello's own services
/// (apps/services, <tapstack/services/service.hpp>), run on the replay's virtual clock, on
/// every TCP port the recorded host accepted on and every UDP port it answered from.
enum class replay_app : std::uint8_t {
    echo,  // TCP/UDP echo (RFC 862)
    discard,  // TCP/UDP discard (RFC 863)
    chargen,  // TCP/UDP character generator (RFC 864)
    http_hello,  // http-hello's HTTP/1.1 server (TCP only: a datagram is answered with ICMP)
    none,  // nothing listens: every SYN is answered with RST, every datagram with ICMP
};
std::optional<replay_app> replay_app_from_string(std::string_view s) noexcept;
std::string_view to_string(replay_app a) noexcept;

/// Names of the fields the comparison checks, in the order it checks them; a tolerance names
/// some of them. TCP: flags seq ack window options (kinds in order, MSS, SACK-permitted)
/// wscale tsval (relative to the first; one tick apart is equal) tsecr sack payload_length payload;
/// ICMP and ICMPv6 echo/errors: icmp_type icmp_code icmp_id icmp_seq payload_length payload;
/// NDP (kind "ndp") and MLD ("mld"): icmp_type icmp_code nd_target nd_flags payload_length
/// payload (the options); UDP: udp_ports payload_length payload; ARP: arp_op arp_sender
/// arp_target; every IPv4 frame: ttl df dscp; every IPv6 frame: hop_limit traffic_class ip6_src
/// (global or link-local); every frame: eth_dst. IP identification, the IPv6 flow label and
/// checksums are never compared.
const std::vector<std::string_view>& replay_fields() noexcept;

/// What a fixture may legitimately do differently from the recorded host. Empty: everything
/// is compared.
struct replay_tolerance {
    /// Fields left out of the comparison (names from replay_fields()).
    std::set<std::string, std::less<>> ignored_fields;
    /// Flow kinds ("arp", "icmp", "udp", "tcp", "other", "ndp", "mld") whose unmatched frames (missing or
    /// extra) are not counted as differences -- e.g. ARP probes Linux sends on its own schedule;
    /// "tcp_pure_ack": only TCP segments that carry nothing but an ACK (delayed-ACK policy).
    std::set<std::string, std::less<>> unmatched_ok;
};

struct replay_options {
    ip::address_v4 host_ip;
    /// The host's subnet (0: every address is on-link).
    std::uint8_t prefix_length = 0;
    /// An IPv6 capture: the host's global address (its link-local one comes from the MAC).
    /// Frames to and from either are split like IPv4 ones; the peer's NDP is fed in (the stack
    /// answers NS itself); a peer the host knew without NDP is taught with an NS first. The
    /// stack runs with dad_transmits 0 and no router solicitation (the recorded host's
    /// addresses were up before the capture began).
    std::optional<ip::address_v6> host_ip6;
    std::uint8_t prefix_length6 = 64;
    /// Default: learned from the capture (the source of the host's first frame).
    std::optional<link::mac_address> host_mac;
    replay_app app = replay_app::echo;
    /// Seeds the stack's ISNs, timestamp offsets and IP IDs: the same capture and seed give a
    /// byte-identical output file.
    std::uint64_t seed = 1;
    /// The emitted frames go here (pcap, Ethernet); empty: not written.
    std::string out_path;
    /// After the last recorded frame, timers keep running this long (delayed ACKs, FIN).
    duration tail = std::chrono::milliseconds{200};
    /// The app closes a TCP connection that has been idle this long (socat -T), if set.
    std::optional<duration> idle_close;
    /// Translate the peer's ACK/SACK/TSecr into tapstack's space (off: fed unchanged).
    bool translate = true;
    /// For a capture tapstack itself wrote as the host (`echo-server --pcap F --seed N
    /// --deterministic`; replay with the same seed): its timestamps are the recording stack's
    /// own instants and its frames both directions, seen by the stack. The replayed stack runs
    /// with stack_config::deterministic (its clock moves only at frames and due timers, socket
    /// calls act at that instant), the virtual clock is set to the recorded instants themselves
    /// (not t=0 at the first record), and timers fire only at the recorded instants of the
    /// host's own frames, when the stack has not yet sent as many frames as the host had: a
    /// timer fires when the recorded runtime's clock woke it, not at its nominal deadline. No
    /// neighbor priming (the recorded stack learned everything from the capture). Then the
    /// emitted frames, and with out_path their timestamps, equal the recorded host frames.
    /// A capture stamped with wall-clock time (after 1970-01-02) is refused as bad input.
    /// What the capture cannot show stays a limit (the frames are then equivalent, not
    /// necessarily identical): an app acting on its own timer, a timer expiry that sent
    /// nothing, several frames the runtime read in one wake-up before the app ran.
    bool deterministic = false;
    replay_tolerance tolerance;
    /// At most this many differences are kept per flow in the report (all are counted).
    std::size_t max_details_per_flow = 8;
};

/// One difference, with the record number in the input (recorded) and the index of the frame
/// among those the stack emitted (replayed); -1 when there is no such frame.
struct replay_difference {
    enum class kind : std::uint8_t { differing, missing, extra };
    kind what = kind::differing;
    std::int64_t recorded_index = -1;
    std::int64_t replayed_index = -1;
    std::string field;  // the first differing field ("" for missing/extra)
    std::string recorded;  // the field's value (or a one-line frame summary)
    std::string replayed;
};

struct replay_flow_report {
    std::string kind;  // "tcp", "udp", "icmp", "arp", "other"
    std::string name;  // "tcp 10.0.0.1:7 <-> 10.0.0.2:40000" (host first)
    std::uint64_t recorded = 0;  // frames the recorded host sent in this flow
    std::uint64_t replayed = 0;  // frames the stack sent in this flow
    std::uint64_t matched = 0;
    std::uint64_t differing = 0;
    std::uint64_t missing = 0;  // recorded, not replayed
    std::uint64_t extra = 0;  // replayed, not recorded
    std::uint64_t tolerated_unmatched = 0;  // missing/extra the tolerance accepts
    std::vector<replay_difference> details;
    bool equivalent() const noexcept { return differing == 0 && missing == 0 && extra == 0; }
};

struct replay_report {
    std::string input;
    ip::address_v4 host_ip;
    std::optional<ip::address_v6> host_ip6;
    link::mac_address host_mac;
    std::uint64_t frames = 0;  // records in the capture
    std::uint64_t frames_to_host = 0;  // fed to the stack
    std::uint64_t frames_by_host = 0;  // compared against
    std::uint64_t frames_ignored = 0;  // neither (other hosts' traffic)
    std::uint64_t frames_emitted = 0;  // by the stack
    std::int64_t capture_duration_us = 0;
    std::vector<replay_flow_report> flows;
    /// The replayed stack's counters at the end, as format_stats() prints them.
    std::string stack_stats;

    bool equivalent() const noexcept;
    /// "replay IN: equivalent: 3 flows, 24 frames matched, 0 differing, 0 missing, 0 extra"
    std::string summary() const;
    /// A human-readable table: one line per flow, then its first differences.
    std::string to_text() const;
    std::string to_json() const;
};

/// Replays `pcap_path`. Throws replay_error for input that cannot be replayed.
replay_report replay_capture(const std::string& pcap_path, const replay_options& opts);

}  // namespace tapstack::tap
