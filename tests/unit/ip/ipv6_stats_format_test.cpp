// format_stats() prints the IPv6 and ICMPv6 counters in Ip6:/Icmp6: sections after the IPv4
// ones, one line per non-zero counter (all with `all`), like the other sections.
#include <gtest/gtest.h>
#include <tapstack/stats.hpp>

namespace {
using namespace tapstack;

/// The indented lines under "NAME:".
std::string section(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + ":\n");
    if (at == std::string::npos) return "<no section " + name + ">";
    const auto body = at + name.size() + 3;
    auto end = body;
    while (end < text.size() && text.compare(end, 4, "    ") == 0) end = text.find('\n', end) + 1;
    return text.substr(body, end - body);
}

TEST(Ipv6StatsFormat, NonZeroCountersAppearInTheirSections) {
    stack_stats s;
    s.ip6.in_receives = 7;
    s.ip6.reasm_overlaps = 2;
    s.icmp6.in_neighbor_solicits = 3;
    s.icmp6.out_echo_reps = 5;
    s.icmp.out_echo_reps = 9;  // IPv4's counter stays in Icmp:
    const auto text = format_stats(s);
    EXPECT_EQ(section(text, "Ip6"),
              "    7 total packets received\n"
              "    2 overlapping fragments dropped (RFC 5722)\n");
    EXPECT_EQ(section(text, "Icmp6"),
              "    3 neighbor solicitations received\n"
              "    5 echo replies sent\n");
    EXPECT_EQ(section(text, "Icmp"), "    9 echo replies sent\n");
    // After the IPv4 sections, so existing output only grows at the end.
    EXPECT_LT(text.find("\nUdp:\n"), text.find("\nIp6:\n"));
    EXPECT_LT(text.find("\nIp6:\n"), text.find("\nIcmp6:\n"));
}

TEST(Ipv6StatsFormat, AllPrintsEveryCounterAndZeroHidesThem) {
    stack_stats s;
    EXPECT_EQ(section(format_stats(s), "Ip6"), "");
    EXPECT_EQ(section(format_stats(s), "Icmp6"), "");
    const auto all = format_stats(s, true);
    EXPECT_NE(section(all, "Ip6").find("    0 packet reassemblies failed\n"), std::string::npos);
    EXPECT_NE(section(all, "Icmp6").find("    0 duplicate addresses detected\n"), std::string::npos);
    EXPECT_NE(section(all, "Icmp6").find("    0 neighbor advertisements sent\n"), std::string::npos);
}

}  // namespace
