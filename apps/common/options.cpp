#include "options.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <utility>

namespace tapstack::app {

std::optional<std::string> parse_u64(std::string_view text, std::uint64_t& out) {
    if (text.empty()) return "empty value";
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    if (ec == std::errc::result_out_of_range) return "out of range";
    if (ec != std::errc{} || ptr != text.data() + text.size()) return "not a number";
    return std::nullopt;
}

std::optional<std::string> parse_port(std::string_view text, std::uint16_t& out) {
    std::uint64_t v = 0;
    if (auto err = parse_u64(text, v)) return err;
    if (v > 65535) return "a port is 0..65535";
    out = static_cast<std::uint16_t>(v);
    return std::nullopt;
}

namespace {

std::optional<std::string> check_interface_address(std::string_view text, std::optional<ip::interface_address>& out) {
    if (text.find('/') == std::string_view::npos) return "expected A.B.C.D/N (an address with a prefix length)";
    auto a = ip::interface_address::from_string(text);
    if (!a) return "expected A.B.C.D/N with each part 0..255 and N 0..32";
    if (a->addr.is_unspecified() || a->addr.is_multicast() || a->addr.is_broadcast() || a->addr.is_loopback())
        return "not a unicast host address";
    if (a->prefix_length > 30 && a->prefix_length != 32)
        return "prefix /" + std::to_string(a->prefix_length) + " leaves no room for a peer";
    if (a->prefix_length < 31 && (a->addr == a->directed_broadcast() || (a->addr.to_uint() & ~a->netmask()) == 0))
        return "the network or broadcast address of its own subnet";
    out = a;
    return std::nullopt;
}

std::optional<std::string> check_interface_address6(std::string_view text,
                                                    std::optional<ip::interface_address_v6>& out) {
    if (text.find('/') == std::string_view::npos) return "expected ADDR/N (an IPv6 address with a prefix length)";
    auto a = ip::interface_address_v6::from_string(text);
    if (!a) return "expected an IPv6 address and N 0..128";
    if (a->addr.is_unspecified() || a->addr.is_multicast() || a->addr.is_link_local() ||
        a->addr == ip::address_v6{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}})
        return "not a global unicast address (the link-local one comes from the MAC)";
    out = a;
    return std::nullopt;
}

}  // namespace

option_parser::option_parser(std::string program, std::string usage, std::string about)
    : program_{std::move(program)}, usage_{std::move(usage)}, about_{std::move(about)} {
    add_option("--tap", "NAME", "TAP device to attach to (created if missing)",
               [this](std::string_view v) -> std::optional<std::string> {
                   if (v.empty()) return "empty name";
                   if (v.size() > 15) return "interface names are at most 15 characters";
                   if (v.find_first_of("/ \t:") != std::string_view::npos)
                       return "no '/', ':' or spaces in an interface name";
                   common_.tap = std::string{v};
                   return std::nullopt;
               });
    add_option("--ip", "A.B.C.D/N", "the stack's IPv4 address and prefix length",
               [this](std::string_view v) { return check_interface_address(v, common_.ip); });
    add_option("--host-ip", "A.B.C.D/N", "also give the kernel side of the TAP this address and bring it up",
               [this](std::string_view v) { return check_interface_address(v, common_.host_ip); });
    add_option("--ip6", "ADDR/N", "the stack's global IPv6 address and prefix length (enables IPv6)",
               [this](std::string_view v) { return check_interface_address6(v, common_.ip6); });
    add_option("--host-ip6", "ADDR/N", "also give the kernel side of the TAP this IPv6 address",
               [this](std::string_view v) { return check_interface_address6(v, common_.host_ip6); });
    add_option("--gateway", "A.B.C.D", "default gateway for destinations outside the subnet",
               [this](std::string_view v) -> std::optional<std::string> {
                   auto a = ip::address_v4::from_string(v);
                   if (!a) return "expected A.B.C.D with each part 0..255";
                   if (a->is_unspecified() || a->is_multicast() || a->is_broadcast()) return "not a unicast address";
                   common_.gateway = a;
                   return std::nullopt;
               });
    add_option("--mac", "MAC", "the stack's Ethernet address (default 02:54:41:50:00:01)",
               [this](std::string_view v) -> std::optional<std::string> {
                   auto m = link::mac_address::from_string(v);
                   if (!m) return "expected six hex pairs like 02:54:41:50:00:01";
                   if (m->is_multicast()) return "a multicast address cannot be an interface address";
                   common_.mac = m;
                   return std::nullopt;
               });
    add_option("--pcap", "FILE", "record every frame, both directions, to FILE (pcap, Ethernet)",
               [this](std::string_view v) -> std::optional<std::string> {
                   if (v.empty()) return "empty file name";
                   common_.pcap = std::string{v};
                   return std::nullopt;
               });
    add_flag("--pcap-ns", "nanosecond timestamps in the --pcap file (default microseconds)",
             [this] { common_.pcap_nanoseconds = true; });
    add_option("--seed", "N", "seed for every random choice (default: from the OS)",
               [this](std::string_view v) -> std::optional<std::string> {
                   std::uint64_t s = 0;
                   if (auto err = parse_u64(v, s)) return err;
                   common_.seed = s;
                   return std::nullopt;
               });
    add_option("--max-connections", "N",
               "TCP sockets the stack may hold (listeners and connections; TIME-WAIT is apart) and half-open "
               "connections per listener (default 131072 and 4096)",
               [this](std::string_view v) -> std::optional<std::string> {
                   std::uint64_t n = 0;
                   if (auto err = parse_u64(v, n)) return err;
                   if (n < 1 || n > 1'000'000) return "must be 1..1000000";
                   common_.max_connections = static_cast<std::uint32_t>(n);
                   return std::nullopt;
               });
    add_option("--tcp-buffer", "BYTES",
               "the most each TCP connection's send and receive buffers grow to; they start "
               "small and follow demand (default 262144)",
               [this](std::string_view v) -> std::optional<std::string> {
                   std::uint64_t n = 0;
                   if (auto err = parse_u64(v, n)) return err;
                   // One full-size segment at least; at most what window scaling can advertise
                   // (RFC 7323 §2.3: shift 14, so just under 1 GiB).
                   if (n < 1460 || n > (std::uint64_t{65535} << 14)) return "must be 1460..1073725440";
                   common_.tcp_buffer = static_cast<std::uint32_t>(n);
                   return std::nullopt;
               });
    add_flag("--help", "print this help and exit", [this] { help_requested_ = true; });
}

void option_parser::add_flag(std::string name, std::string help, std::function<void()> on_set) {
    options_.push_back({std::move(name), {}, std::move(help), {}, std::move(on_set)});
}

void option_parser::add_option(std::string name, std::string metavar, std::string help, value_parser parse) {
    options_.push_back({std::move(name), std::move(metavar), std::move(help), std::move(parse), {}});
}

void option_parser::add_port(std::string name, std::string help, std::uint16_t& target) {
    const std::string def = " (default " + std::to_string(target) + ")";
    add_option(std::move(name), "PORT", std::move(help) + def,
               [&target](std::string_view v) { return parse_port(v, target); });
}

void option_parser::require(std::string name) { required_.push_back(std::move(name)); }

option_parser::option* option_parser::find(std::string_view name) {
    for (auto& o : options_)
        if (o.name == name) return &o;
    return nullptr;
}

std::string option_parser::bad(const option& o, std::string_view value, std::string_view why) const {
    return program_ + ": bad " + o.name + " '" + std::string{value} + "': " + std::string{why};
}

std::optional<std::string> option_parser::try_parse(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::optional<std::string_view> inline_value;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            inline_value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        if (arg == "-h") arg = "--help";
        option* o = find(arg);
        if (o == nullptr) return program_ + ": unknown option '" + std::string{arg} + "' (see --help)";
        if (o->metavar.empty()) {
            if (inline_value) return program_ + ": " + o->name + " takes no value";
            o->seen = true;
            if (o->on_set) o->on_set();
            if (help_requested_) return std::nullopt;
            continue;
        }
        std::string_view value;
        if (inline_value) {
            value = *inline_value;
        } else {
            if (i + 1 >= argc) return program_ + ": " + o->name + " needs a value " + o->metavar;
            value = argv[++i];
        }
        if (auto err = o->parse(value)) return bad(*o, value, *err);
        o->seen = true;
    }
    for (const auto& name : required_) {
        option* o = find(name);
        if (o == nullptr || !o->seen)
            return program_ + ": missing " + name + (o ? " " + o->metavar : "") + " (see --help)";
    }
    if (common_.ip && common_.host_ip) {
        if (common_.ip->addr == common_.host_ip->addr)
            return program_ + ": bad --host-ip '" + common_.host_ip->to_string() + "': same address as --ip";
    }
    if (common_.ip6 && common_.host_ip6 && common_.ip6->addr == common_.host_ip6->addr)
        return program_ + ": bad --host-ip6 '" + common_.host_ip6->to_string() + "': same address as --ip6";
    if (common_.ip && common_.gateway && !common_.ip->contains(*common_.gateway))
        return program_ + ": bad --gateway '" + common_.gateway->to_string() + "': not inside " +
            common_.ip->to_string();
    return std::nullopt;
}

void option_parser::parse(int argc, const char* const* argv) {
    if (auto err = try_parse(argc, argv)) {
        std::cerr << *err << '\n';
        std::exit(2);
    }
    if (help_requested_) {
        std::cout << help();
        std::exit(0);
    }
}

std::string option_parser::help() const {
    std::ostringstream out;
    out << "usage: " << usage_ << "\n\n" << about_ << "\n\noptions:\n";
    for (const auto& o : options_) {
        std::string left = "  " + o.name + (o.metavar.empty() ? "" : " " + o.metavar);
        bool required = false;
        for (const auto& r : required_) required = required || r == o.name;
        out << left;
        if (left.size() < 26)
            out << std::string(26 - left.size(), ' ');
        else
            out << "\n" << std::string(26, ' ');
        out << o.help << (required ? " (required)" : "") << '\n';
    }
    return out.str();
}

}  // namespace tapstack::app
