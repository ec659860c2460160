#pragma once
// The stack's IPv6 state: our addresses and DAD, the neighbor cache, the default router,
// fragment reassembly. The functions over it are declared in ipv6.hpp.
#include <optional>
#include <utility>
#include <vector>
#include <tapstack/base/time.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/mac.hpp>

namespace tapstack {

struct stack_config;

/// RFC 4861 §7.3.2 neighbor cache states.
enum class nd_state : std::uint8_t { incomplete, reachable, stale, delay, probe };

struct neighbor_entry {
    ip::address_v6 address;
    link::mac_address mac;
    nd_state state = nd_state::incomplete;
    bool in_use = false;
    bool is_router = false;
    /// INCOMPLETE/PROBE: next solicitation; REACHABLE: when it turns STALE; DELAY: when to
    /// start probing. STALE has no timer (§7.3.3: it stays until used).
    std::optional<instant> timer_at;
    std::uint8_t probes = 0;
    std::uint8_t pending_count = 0;
    instant last_used{};
};

struct pending_frame6 {
    std::uint16_t entry = 0;
    std::uint16_t length = 0;
    bool in_use = false;
    std::vector<std::byte> bytes;  // mtu + 14, allocated at start-up
};

struct our_address6 {
    ip::address_v6 addr;
    std::uint8_t prefix_length = 64;
    ip::address_state state = ip::address_state::absent;
    std::uint8_t dad_sent = 0;
    instant dad_next{};
};

struct reassembly_slot {
    bool in_use = false;
    ip::address_v6 source, destination;
    std::uint32_t identification = 0;
    instant expires_at{};
    std::uint8_t next_header = 0;  // from the first fragment's fragment header
    bool have_first = false;
    std::uint32_t total = 0;  // fragmentable length, known once the last fragment arrived
    std::uint32_t received = 0;
    std::uint16_t fragment_count = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;  // [begin, end), capacity fixed
    std::vector<std::byte> buffer;  // 40-byte header + 65535, allocated at start-up
    bool discarded = false;  // RFC 5722: overlap seen; later fragments are dropped too
    std::vector<std::byte> first;  // the first fragment as received, quoted on time-out
    std::size_t first_length = 0;
};

struct ipv6_state {
    explicit ipv6_state(const stack_config& cfg);  // input.cpp

    bool enabled = false;
    bool started = false;
    bool rs_sent = false;
    our_address6 link_local;
    std::optional<our_address6> global;

    std::vector<neighbor_entry> neighbors;
    std::vector<pending_frame6> pending;
    std::optional<ip::address_v6> default_router;
    instant router_expires_at{};
    std::uint8_t hop_limit = 64;
    duration reachable_time{};
    duration retrans_timer{};

    std::vector<reassembly_slot> reassembly;
};

}  // namespace tapstack
