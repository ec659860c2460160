// `ss -tan`-style rendering of the TCP table.
#include <tapstack/stack.hpp>
#include <cstdio>

namespace tapstack {

std::string format_connections(const stack& s) {
    std::string out = "State        Recv-Q  Send-Q  Local Address:Port     Peer Address:Port\n";
    s.for_each_tcp([&](const tcp_socket_info& i) {
        const std::string state{tcp::to_string(i.state)};
        const std::string peer = i.state == tcp::state::listen ? std::string{"*:*"} : i.remote.to_string();
        char line[256];
        std::snprintf(line, sizeof line, "%-12s %-7zu %-7zu %-22s %s\n", state.c_str(), i.recv_q, i.send_q,
                      i.local.to_string().c_str(), peer.c_str());
        out += line;
    });
    return out;
}

}  // namespace tapstack
