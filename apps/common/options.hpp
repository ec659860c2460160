#pragma once
// The one command-line parser every tapstack app uses: the common flags (--tap, --ip, ...)
// plus flags the app registers. Bad input ends the program with one line on stderr
// ("echo-server: bad --ip '300.1.1.1/24': ...") and exit status 2; --help prints every flag.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/mac.hpp>

namespace tapstack::app {

struct common_options {
    std::string tap;  // --tap NAME
    std::optional<ip::interface_address> ip;  // --ip A.B.C.D/N: the stack's address
    std::optional<ip::interface_address> host_ip;  // --host-ip A.B.C.D/N: the kernel side
    std::optional<ip::address_v4> gateway;  // --gateway A.B.C.D
    std::optional<ip::interface_address_v6> ip6;  // --ip6 ADDR/N: the stack's global IPv6 address
    std::optional<ip::interface_address_v6> host_ip6;  // --host-ip6 ADDR/N: the kernel side
    std::optional<link::mac_address> mac;  // --mac 02:..:..
    std::string pcap;  // --pcap FILE
    bool pcap_nanoseconds = false;  // --pcap-ns
    std::optional<std::uint64_t> seed;  // --seed N
    bool deterministic = false;  // stack_config::deterministic, pcap on stack time (echo-server --deterministic)
    std::optional<std::uint32_t> max_connections;  // --max-connections N: TCP sockets and SYN backlog
    std::optional<std::uint32_t> tcp_buffer;  // --tcp-buffer BYTES: per-connection send and receive buffers
    bool offload = false;  // --offload on|off (echo-server): TAP checksum/TSO offload
};

/// Parses a value; returns an error message (without the flag) when the text is bad.
using value_parser = std::function<std::optional<std::string>(std::string_view)>;

class option_parser {
public:
    /// `program` prefixes every message; `usage` is the synopsis line, `about` one paragraph.
    option_parser(std::string program, std::string usage, std::string about);

    /// A flag with no value.
    void add_flag(std::string name, std::string help, std::function<void()> on_set);
    /// A flag with a value (`--name VALUE` or `--name=VALUE`).
    void add_option(std::string name, std::string metavar, std::string help, value_parser parse);
    /// Convenience: a port number 0..65535 (0 disables a service where the app says so).
    void add_port(std::string name, std::string help, std::uint16_t& target);
    /// Marks common flags the app cannot run without ("--tap", "--ip").
    void require(std::string name);

    /// Parses argv; on --help prints help() to stdout and exits 0; on error prints one line
    /// and exits 2.
    void parse(int argc, const char* const* argv);
    /// The same without exiting: returns the error line (nullopt on success). Used by tests.
    std::optional<std::string> try_parse(int argc, const char* const* argv);
    bool help_requested() const noexcept { return help_requested_; }

    std::string help() const;
    const common_options& common() const noexcept { return common_; }
    common_options& common() noexcept { return common_; }
    const std::string& program() const noexcept { return program_; }

private:
    struct option {
        std::string name;
        std::string metavar;  // empty: a flag without value
        std::string help;
        value_parser parse;
        std::function<void()> on_set;
        bool seen = false;
    };
    option* find(std::string_view name);
    std::string bad(const option& o, std::string_view value, std::string_view why) const;

    std::string program_;
    std::string usage_;
    std::string about_;
    std::vector<option> options_;
    std::vector<std::string> required_;
    common_options common_;
    bool help_requested_ = false;
};

/// Helpers for app-specific values, returning the error text on failure.
std::optional<std::string> parse_u64(std::string_view text, std::uint64_t& out);
std::optional<std::string> parse_port(std::string_view text, std::uint16_t& out);

}  // namespace tapstack::app
