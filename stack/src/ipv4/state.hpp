#pragma once
// The stack's IPv4 state: the ARP cache, the frames waiting for it, the IP identification
// counter. The functions over it are declared in ipv4.hpp.
#include <cstdint>
#include <vector>
#include <tapstack/base/time.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/mac.hpp>

namespace tapstack {

struct stack_config;

struct arp_entry {
    ip::address_v4 address;
    link::mac_address mac;
    bool resolved = false;
    bool in_use = false;
    instant expires_at{};  // resolved: when to stop trusting it
    instant next_retry_at{};  // unresolved: when to ask again
    std::uint8_t retries = 0;
    std::uint8_t pending_count = 0;
};

/// A frame waiting for ARP: complete but for the destination MAC.
struct pending_frame {
    std::uint16_t entry = 0;  // index into arp_entries
    std::uint16_t length = 0;
    bool in_use = false;
    std::vector<std::byte> bytes;  // mtu + 14, allocated once at start-up
};

struct ipv4_state {
    explicit ipv4_state(const stack_config& cfg);  // input.cpp

    std::uint16_t next_ip_id = 0;  // drawn from the stack's seed

    // ARP
    std::vector<arp_entry> arp_entries;
    std::vector<pending_frame> pending;
    std::uint16_t arp_last_hit = 0;
    std::uint16_t arp_unresolved = 0;  // entries waiting for a reply: poll skips the scan at 0
};

}  // namespace tapstack
