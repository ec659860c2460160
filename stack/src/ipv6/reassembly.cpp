// IPv6 fragment reassembly (RFC 8200 §4.5) in a fixed number of 64 KiB buffers allocated at
// start-up, with the 60-second limit, and RFC 5722's rule that overlapping fragments discard
// the whole datagram.
#include "../stack/stack_impl.hpp"
#include "ipv6.hpp"
#include <algorithm>

namespace tapstack {
namespace {
void free_slot(reassembly_slot& r) {
    r.in_use = false;
    r.ranges.clear();
}

void discard(stack::impl& s, reassembly_slot& r) {
    // RFC 5722 §4: "the entire datagram (and any constituent fragments, including those not
    // yet received) MUST be silently discarded": the slot stays, marked, until it expires.
    if (!r.discarded) ++s.stats.ip6.reasm_fails;
    r.discarded = true;
    r.ranges.clear();
}

/// RFC 8200 §4.5's checks on one fragment by itself; false when it is dropped.
bool fragment_acceptable(stack::impl& s, const wire::ipv6_view& ip, const wire::ipv6_fragment& f, bytes data,
                         instant t) {
    const auto pointer_of = [&](std::size_t field) { return static_cast<std::uint32_t>(field); };
    // §4.5: "If the length of a fragment, as derived from the fragment packet's Payload
    // Length field, is not a multiple of 8 octets and the M flag of that fragment is 1, then
    // that fragment must be discarded and an ICMP Parameter Problem, Code 0, message should be
    // sent to the source of the fragment, pointing to the Payload Length field".
    if (f.more_fragments && data.size() % 8 != 0) {
        ++s.stats.ip6.reasm_fails;
        send_icmpv6_error(s, ip.packet(), wire::icmpv6_type::parameter_problem, 0, pointer_of(4), t);
        return false;
    }
    // "If the length and offset of a fragment are such that the Payload Length of the packet
    // reassembled from that fragment would exceed 65,535 octets, then that fragment must be
    // discarded and an ICMP Parameter Problem, Code 0, ... pointing to the Fragment Offset".
    if (std::size_t{f.offset} + data.size() > 0xffff) {
        ++s.stats.ip6.reasm_fails;
        send_icmpv6_error(s, ip.packet(), wire::icmpv6_type::parameter_problem, 0, pointer_of(f.header_offset + 2), t);
        return false;
    }
    if (data.empty()) {
        ++s.stats.ip6.reasm_fails;
        return false;
    }
    return true;
}

/// The slot reassembling (src, dst, f.identification), else a recycled one; nullptr when none.
reassembly_slot* slot_for(stack::impl& s, const ip::address_v6& src, const ip::address_v6& dst,
                          const wire::ipv6_fragment& f, instant t) {
    reassembly_slot* r = nullptr;
    for (auto& c : s.v6.reassembly)
        if (c.in_use && c.identification == f.identification && c.source == src && c.destination == dst) {
            r = &c;
            break;
        }
    if (!r) {
        // A free buffer, else the one closest to its deadline (a flood of partial datagrams
        // can only recycle the buffers, never grow them).
        for (auto& c : s.v6.reassembly)
            if (!c.in_use || !r || c.expires_at < r->expires_at) {
                r = &c;
                if (!c.in_use) break;
            }
        if (!r) {
            ++s.stats.ip6.reasm_fails;
            return nullptr;
        }
        if (r->in_use && !r->discarded) ++s.stats.ip6.reasm_fails;
        free_slot(*r);
        r->in_use = true;
        r->discarded = false;
        r->source = src;
        r->destination = dst;
        r->identification = f.identification;
        r->expires_at = t + s.cfg.ipv6_reassembly_timeout;
        r->have_first = false;
        r->total = 0;
        r->received = 0;
        r->fragment_count = 0;
        r->first_length = 0;
    }
    return r;
}

/// Adds one fragment's data to `r`; true when that completes the datagram.
bool add_fragment(stack::impl& s, reassembly_slot& r, const wire::ipv6_view& ip, const wire::ipv6_fragment& f,
                  bytes data) {
    const std::uint32_t begin = f.offset;
    const auto end = static_cast<std::uint32_t>(begin + data.size());
    for (const auto& [b, e] : r.ranges) {
        if (b == begin && e == end) return false;  // an exact duplicate (a retransmission): ignore it
        if (begin < e && b < end) {
            ++s.stats.ip6.reasm_overlaps;
            discard(s, r);
            return false;
        }
    }
    if (r.ranges.size() >= s.cfg.ipv6_max_fragments) {
        discard(s, r);
        return false;
    }
    if (!f.more_fragments) {
        if ((r.total != 0 && r.total != end) ||
            std::any_of(r.ranges.begin(), r.ranges.end(), [&](const auto& x) { return x.second > end; })) {
            discard(s, r);
            return false;
        }
        r.total = end;
    } else if (r.total != 0 && end > r.total) {
        discard(s, r);
        return false;
    }
    copy_bytes(r.buffer, wire::ipv6_header_size + begin, data);
    r.ranges.emplace_back(begin, end);
    r.received += end - begin;
    if (begin == 0) {
        r.have_first = true;
        r.next_header = f.next_header;
        r.first_length = std::min(ip.packet().size(), r.first.size());
        copy_bytes(r.first, 0, ip.packet().first(r.first_length));
    }
    return r.have_first && r.total != 0 && r.received == r.total;
}

/// Delivers the completed datagram in `r` and frees the slot.
void deliver_whole(stack::impl& s, reassembly_slot& r, const wire::ipv6_view& ip, instant t) {
    // Complete. The unfragmentable headers were processed with each fragment; what is
    // delivered is a plain IPv6 header and the fragmentable part (§4.5 "reassembled packet").
    wire::ipv6_header h;
    h.source = r.source;
    h.destination = r.destination;
    h.next_header = r.next_header;
    h.hop_limit = ip.hop_limit();
    h.traffic_class = ip.traffic_class();
    h.flow_label = ip.flow_label();
    h.encode(r.buffer, r.total);
    ++s.stats.ip6.reasm_oks;
    auto whole = wire::ipv6_view::parse(bytes{r.buffer}.first(wire::ipv6_header_size + r.total));
    r.discarded = true;  // while delivering: a re-entrant fragment with this id is dropped
    if (whole) ipv6_deliver(s, *whole, t, true);
    free_slot(r);
}
}  // namespace

void reassemble6(stack::impl& s, const wire::ipv6_view& ip, const wire::ipv6_fragment& f, bytes data, instant t) {
    ++s.stats.ip6.reasm_reqds;
    if (!fragment_acceptable(s, ip, f, data, t)) return;
    reassembly_slot* r = slot_for(s, ip.source(), ip.destination(), f, t);
    if (!r || r->discarded) return;
    if (add_fragment(s, *r, ip, f, data)) deliver_whole(s, *r, ip, t);
}

void reassembly6_poll(stack::impl& s, instant t) {
    for (auto& r : s.v6.reassembly) {
        if (!r.in_use || t < r.expires_at) continue;
        if (!r.discarded) {
            ++s.stats.ip6.reasm_fails;
            // §4.5: time exceeded, code 1, to the source, only if the first fragment came.
            if (r.have_first)
                send_icmpv6_error(s, bytes{r.first}.first(r.first_length), wire::icmpv6_type::time_exceeded, 1, 0, t);
        }
        free_slot(r);
    }
}

std::optional<instant> reassembly6_deadline(const stack::impl& s) {
    std::optional<instant> next;
    for (const auto& r : s.v6.reassembly)
        if (r.in_use && (!next || r.expires_at < *next)) next = r.expires_at;
    return next;
}

}  // namespace tapstack
