// The replay report: the summary line, the text table and the JSON the replay program prints.
#include <tapstack/replay/replay.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace tapstack::tap {

const std::vector<std::string_view>& replay_fields() noexcept {
    static const std::vector<std::string_view> fields{
        "flags",  "seq",        "ack",        "window",         "options",   "wscale",        "tsval",
        "tsecr",  "sack",       "icmp_type",  "icmp_code",      "icmp_id",   "icmp_seq",      "udp_ports",
        "arp_op", "arp_sender", "arp_target", "payload_length", "payload",   "ttl",           "df",
        "dscp",   "eth_dst",    "nd_target",  "nd_flags",       "hop_limit", "traffic_class", "ip6_src"};
    return fields;
}

bool replay_report::equivalent() const noexcept {
    return std::all_of(flows.begin(), flows.end(), [](const auto& f) { return f.equivalent(); });
}

std::string replay_report::summary() const {
    std::uint64_t matched = 0, differing = 0, missing = 0, extra = 0, tolerated = 0;
    for (const auto& f : flows) {
        matched += f.matched;
        differing += f.differing;
        missing += f.missing;
        extra += f.extra;
        tolerated += f.tolerated_unmatched;
    }
    std::string s = "replay " + input + ": " + (equivalent() ? "equivalent" : "DIFFERENT") + ": " +
        std::to_string(flows.size()) + " flows, " + std::to_string(matched) + " frames matched, " +
        std::to_string(differing) + " differing, " + std::to_string(missing) + " missing, " + std::to_string(extra) +
        " extra";
    if (tolerated != 0) s += ", " + std::to_string(tolerated) + " unmatched tolerated";
    return s;
}

namespace {
std::string_view difference_name(replay_difference::kind k) {
    switch (k) {
    case replay_difference::kind::differing: return "differing";
    case replay_difference::kind::missing: return "missing";
    case replay_difference::kind::extra: return "extra";
    }
    return "?";
}

std::string json_string(std::string_view s) {
    std::string o = "\"";
    for (char c : s) {
        switch (c) {
        case '"': o += "\\\""; break;
        case '\\': o += "\\\\"; break;
        case '\n': o += "\\n"; break;
        case '\r': o += "\\r"; break;
        case '\t': o += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                o += b;
            } else {
                o += c;
            }
        }
    }
    return o + "\"";
}
}  // namespace

std::string replay_report::to_text() const {
    std::ostringstream o;
    o << "input " << input << ": host " << (host_ip6 ? host_ip6->to_string() : host_ip.to_string()) << " at "
      << host_mac.to_string() << ", " << frames << " frames (" << frames_to_host << " to the host, " << frames_by_host
      << " by it, " << frames_ignored << " ignored) over " << capture_duration_us << " us; the stack sent "
      << frames_emitted << "\n";
    for (const auto& f : flows) {
        o << (f.equivalent() ? "  ok   " : "  DIFF ") << f.name << ": recorded " << f.recorded << ", replayed "
          << f.replayed << ", matched " << f.matched << ", differing " << f.differing << ", missing " << f.missing
          << ", extra " << f.extra;
        if (f.tolerated_unmatched != 0) o << ", unmatched tolerated " << f.tolerated_unmatched;
        o << "\n";
        for (const auto& d : f.details) {
            o << "         " << difference_name(d.what);
            if (d.what == replay_difference::kind::differing)
                o << " " << d.field << ": recorded " << d.recorded << "; replayed " << d.replayed;
            else if (d.what == replay_difference::kind::missing)
                o << ": " << d.recorded;
            else
                o << ": " << d.replayed;
            o << "\n";
        }
    }
    o << summary() << "\n";
    return o.str();
}

std::string replay_report::to_json() const {
    std::ostringstream o;
    o << "{\n  \"input\": " << json_string(input) << ",\n  \"host_ip\": " << json_string(host_ip.to_string())
      << (host_ip6 ? ",\n  \"host_ip6\": " + json_string(host_ip6->to_string()) : std::string{})
      << ",\n  \"host_mac\": " << json_string(host_mac.to_string())
      << ",\n  \"equivalent\": " << (equivalent() ? "true" : "false") << ",\n  \"frames\": " << frames
      << ",\n  \"frames_to_host\": " << frames_to_host << ",\n  \"frames_by_host\": " << frames_by_host
      << ",\n  \"frames_ignored\": " << frames_ignored << ",\n  \"frames_emitted\": " << frames_emitted
      << ",\n  \"capture_duration_us\": " << capture_duration_us << ",\n  \"summary\": " << json_string(summary())
      << ",\n  \"flows\": [";
    for (std::size_t i = 0; i < flows.size(); ++i) {
        const auto& f = flows[i];
        o << (i ? "," : "") << "\n    {\"flow\": " << json_string(f.name) << ", \"kind\": " << json_string(f.kind)
          << ", \"equivalent\": " << (f.equivalent() ? "true" : "false") << ", \"recorded\": " << f.recorded
          << ", \"replayed\": " << f.replayed << ", \"matched\": " << f.matched << ", \"differing\": " << f.differing
          << ", \"missing\": " << f.missing << ", \"extra\": " << f.extra
          << ", \"tolerated_unmatched\": " << f.tolerated_unmatched << ", \"differences\": [";
        for (std::size_t k = 0; k < f.details.size(); ++k) {
            const auto& d = f.details[k];
            o << (k ? ", " : "") << "{\"type\": " << json_string(difference_name(d.what))
              << ", \"recorded_index\": " << d.recorded_index << ", \"replayed_index\": " << d.replayed_index
              << ", \"field\": " << json_string(d.field) << ", \"recorded\": " << json_string(d.recorded)
              << ", \"replayed\": " << json_string(d.replayed) << "}";
        }
        o << "]}";
    }
    o << "\n  ]\n}\n";
    return o.str();
}

}  // namespace tapstack::tap
