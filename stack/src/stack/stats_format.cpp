// `netstat -s`-style rendering of the counters.
#include <tapstack/stats.hpp>
#include <string_view>

namespace tapstack {
namespace {
class table {
public:
    explicit table(std::string& out, bool all) : out_{out}, all_{all} {}
    void section(std::string_view name) {
        out_ += name;
        out_ += ":\n";
    }
    void row(std::string_view name, std::uint64_t v) {
        if (v == 0 && !all_) return;
        out_ += "    ";
        out_ += std::to_string(v);
        out_ += ' ';
        out_ += name;
        out_ += '\n';
    }

private:
    std::string& out_;
    bool all_;
};

void link_rows(table& t, const stack_stats& s) {
    t.section("Link");
    t.row("frames received", s.link.in_frames);
    t.row("frames sent", s.link.out_frames);
    t.row("truncated frames dropped", s.link.in_truncated);
    t.row("frames for other hosts dropped", s.link.in_not_for_us);
    t.row("frames of unknown ethertype dropped", s.link.in_unknown_ethertype);
    t.row("frames with an offloaded checksum received", s.link.in_checksum_offloaded);
    t.row("super-frames received (GRO/GSO)", s.link.in_gso_frames);
    t.row("super-frames sent (TSO)", s.link.out_gso_frames);
}

void arp_rows(table& t, const stack_stats& s) {
    t.section("Arp");
    t.row("requests received", s.arp.in_requests);
    t.row("replies received", s.arp.in_replies);
    t.row("malformed packets dropped", s.arp.in_errors);
    t.row("requests sent", s.arp.out_requests);
    t.row("replies sent", s.arp.out_replies);
    t.row("resolutions given up", s.arp.resolution_failures);
    t.row("packets dropped waiting for resolution", s.arp.pending_drops);
    t.row("packets dropped: cache full", s.arp.cache_full_drops);
    t.row("entries revalidated on negative advice", s.arp.revalidations);
}

void ip_rows(table& t, const stack_stats& s) {
    t.section("Ip");
    t.row("total packets received", s.ip.in_receives);
    t.row("with invalid headers", s.ip.in_hdr_errors);
    t.row("with invalid addresses", s.ip.in_addr_errors);
    t.row("with unknown protocol", s.ip.in_unknown_protos);
    t.row("incoming packets delivered", s.ip.in_delivers);
    t.row("fragments dropped", s.ip.in_fragments_dropped);
    t.row("martian sources dropped", s.ip.in_martians);
    t.row("requests sent out", s.ip.out_requests);
    t.row("dropped because of missing route", s.ip.out_no_routes);
    t.row("dropped: larger than the MTU", s.ip.out_too_big);
}

void icmp_rows(table& t, const stack_stats& s) {
    t.section("Icmp");
    t.row("ICMP messages received", s.icmp.in_msgs);
    t.row("input ICMP message failed", s.icmp.in_errors);
    t.row("echo requests received", s.icmp.in_echos);
    t.row("destination unreachable received", s.icmp.in_dest_unreachs);
    t.row("time exceeded received", s.icmp.in_time_excds);
    t.row("parameter problems received", s.icmp.in_parm_probs);
    t.row("ICMP errors delivered to TCP", s.icmp.in_tcp_errors);
    t.row("ICMP errors for TCP ignored: quoted sequence out of window", s.icmp.in_tcp_out_of_window);
    t.row("ICMP errors for TCP ignored: no connection", s.icmp.in_tcp_no_connection);
    t.row("ICMP errors with a malformed quote dropped", s.icmp.in_bad_quotes);
    t.row("ICMP messages sent", s.icmp.out_msgs);
    t.row("echo replies sent", s.icmp.out_echo_reps);
    t.row("destination unreachable sent", s.icmp.out_dest_unreachs);
    t.row("ICMP errors rate limited", s.icmp.out_rate_limited);
}

void tcp_rows(table& t, const stack_stats& s) {
    t.section("Tcp");
    t.row("active connection openings", s.tcp.active_opens);
    t.row("passive connection openings", s.tcp.passive_opens);
    t.row("failed connection attempts", s.tcp.attempt_fails);
    t.row("connection resets received in established", s.tcp.estab_resets);
    t.row("segments received", s.tcp.in_segs);
    t.row("segments sent out", s.tcp.out_segs);
    t.row("segments retransmitted", s.tcp.retrans_segs);
    t.row("bad segments received", s.tcp.in_errs);
    t.row("resets sent", s.tcp.out_rsts);
    t.row("resets received", s.tcp.in_rsts);
    t.row("fast retransmits", s.tcp.fast_retransmits);
    t.row("retransmission timeouts", s.tcp.timeouts);
    t.row("negative advice given to IP (R1 reached)", s.tcp.negative_advice);
    t.row("connections timed out by their user timeout", s.tcp.user_timeouts);
    t.row("out-of-order segments queued", s.tcp.out_of_order_segs);
    t.row("out-of-order segments dropped (bound)", s.tcp.out_of_order_drops);
    t.row("duplicate segments", s.tcp.duplicate_segs);
    t.row("challenge ACKs sent", s.tcp.challenge_acks);
    t.row("challenge ACKs suppressed", s.tcp.challenge_acks_suppressed);
    t.row("segments outside the window dropped", s.tcp.in_window_drops);
    t.row("PAWS rejected segments", s.tcp.paws_drops);
    t.row("zero window probes sent", s.tcp.zero_window_probes);
    t.row("keepalive probes sent", s.tcp.keepalive_probes);
    t.row("connections timed out", s.tcp.connections_timed_out);
    t.row("connections aborted", s.tcp.connections_aborted);
    t.row("delayed ACKs sent", s.tcp.delayed_acks);
    t.row("SACK recoveries", s.tcp.sack_recoveries);
    t.row("segments with port 0 dropped", s.tcp.port_zero_drops);
    t.row("resets for segments without a socket", s.tcp.no_listener_rsts);
    t.row("SYNs dropped: SYN backlog full", s.tcp.syn_backlog_drops);
    t.row("half-open connections evicted: SYN backlog full", s.tcp.syn_backlog_evictions);
    t.row("SYN cookies sent", s.tcp.syn_cookies_sent);
    t.row("SYN cookies validated", s.tcp.syn_cookies_validated);
    t.row("SYN cookies failed", s.tcp.syn_cookies_failed);
    t.row("SYNs dropped: accept queue full", s.tcp.accept_queue_drops);
    t.row("SYNs dropped: connection limit", s.tcp.connection_limit_drops);
    t.row("TIME-WAIT connections reused", s.tcp.time_wait_reuses);
    t.row("TIME-WAIT 4-tuples reused by connect", s.tcp.time_wait_connect_reuses);
    t.row("TIME-WAIT connections dropped: TIME-WAIT bound", s.tcp.time_wait_overflows);
    t.row("SYN retransmits", s.tcp.syn_retransmits);
    t.row("retransmits chosen from the SACK scoreboard", s.tcp.sack_retransmits);
    t.row("duplicate ACKs received", s.tcp.dup_acks_in);
    t.row("RTT samples taken", s.tcp.rtt_samples);
    t.row("window updates sent after reads", s.tcp.window_updates);
    t.row("unacceptable ACKs (RFC 5961)", s.tcp.ack_unacceptable);
    t.row("resets for data after close", s.tcp.data_after_close_rsts);
    t.row("buffer bytes in use (send and receive rings)", s.tcp.buffer_bytes_in_use);
    t.row("buffer bytes in use at the peak (never above tcp.max_buffer_memory)", s.tcp.buffer_bytes_peak);
    t.row("buffers refused: memory bound", s.tcp.buffer_memory_refusals);
    t.row("sends that waited for buffer memory", s.tcp.buffer_memory_waits);
    t.row("buffers grown to follow demand", s.tcp.buffer_grows);
    t.row("drained buffers given back under memory pressure", s.tcp.buffer_shrinks);
    t.row("segments dropped: memory bound", s.tcp.buffer_memory_drops);
    t.row("orphaned FIN-WAIT-2 connections timed out", s.tcp.fin_wait_2_timeouts);
}

void udp_rows(table& t, const stack_stats& s) {
    t.section("Udp");
    t.row("packets received", s.udp.in_datagrams);
    t.row("packets to unknown port received", s.udp.no_ports);
    t.row("packet receive errors", s.udp.in_errors);
    t.row("receive buffer errors", s.udp.rcvbuf_errors);
    t.row("packets sent", s.udp.out_datagrams);
}

void ip6_rows(table& t, const stack_stats& s) {
    t.section("Ip6");
    t.row("total packets received", s.ip6.in_receives);
    t.row("with invalid headers", s.ip6.in_hdr_errors);
    t.row("with invalid addresses", s.ip6.in_addr_errors);
    t.row("with unknown protocol", s.ip6.in_unknown_protos);
    t.row("incoming packets delivered", s.ip6.in_delivers);
    t.row("incoming packets discarded", s.ip6.in_discards);
    t.row("fragments received", s.ip6.reasm_reqds);
    t.row("packets reassembled ok", s.ip6.reasm_oks);
    t.row("packet reassemblies failed", s.ip6.reasm_fails);
    t.row("overlapping fragments dropped (RFC 5722)", s.ip6.reasm_overlaps);
    t.row("requests sent out", s.ip6.out_requests);
    t.row("dropped because of missing route", s.ip6.out_no_routes);
    t.row("dropped: larger than the MTU", s.ip6.out_too_big);
}

void icmp6_rows(table& t, const stack_stats& s) {
    t.section("Icmp6");
    t.row("ICMPv6 messages received", s.icmp6.in_msgs);
    t.row("input ICMPv6 message failed", s.icmp6.in_errors);
    t.row("echo requests received", s.icmp6.in_echos);
    t.row("destination unreachable received", s.icmp6.in_dest_unreachs);
    t.row("packet too big received", s.icmp6.in_pkt_too_bigs);
    t.row("time exceeded received", s.icmp6.in_time_excds);
    t.row("parameter problems received", s.icmp6.in_parm_problems);
    t.row("ICMPv6 errors delivered to TCP", s.icmp6.in_tcp_errors);
    t.row("ICMPv6 errors for TCP ignored: quoted sequence out of window", s.icmp6.in_tcp_out_of_window);
    t.row("ICMPv6 errors for TCP ignored: no connection", s.icmp6.in_tcp_no_connection);
    t.row("ICMPv6 errors with a malformed quote dropped", s.icmp6.in_bad_quotes);
    t.row("neighbor solicitations received", s.icmp6.in_neighbor_solicits);
    t.row("neighbor advertisements received", s.icmp6.in_neighbor_advertisements);
    t.row("router advertisements received", s.icmp6.in_router_advertisements);
    t.row("ICMPv6 messages sent", s.icmp6.out_msgs);
    t.row("echo replies sent", s.icmp6.out_echo_reps);
    t.row("destination unreachable sent", s.icmp6.out_dest_unreachs);
    t.row("parameter problems sent", s.icmp6.out_parm_problems);
    t.row("time exceeded sent", s.icmp6.out_time_excds);
    t.row("neighbor solicitations sent", s.icmp6.out_neighbor_solicits);
    t.row("neighbor advertisements sent", s.icmp6.out_neighbor_advertisements);
    t.row("router solicitations sent", s.icmp6.out_router_solicits);
    t.row("ICMPv6 errors rate limited", s.icmp6.out_rate_limited);
    t.row("neighbor resolutions given up", s.icmp6.nd_resolution_failures);
    t.row("packets dropped waiting for resolution", s.icmp6.nd_pending_drops);
    t.row("packets dropped: neighbor cache full", s.icmp6.nd_cache_full_drops);
    t.row("neighbors revalidated on negative advice", s.icmp6.nd_revalidations);
    t.row("duplicate addresses detected", s.icmp6.dad_conflicts);
}
}  // namespace

std::string format_stats(const stack_stats& s, bool all) {
    std::string out;
    table t{out, all};
    link_rows(t, s);
    arp_rows(t, s);
    ip_rows(t, s);
    icmp_rows(t, s);
    tcp_rows(t, s);
    udp_rows(t, s);
    ip6_rows(t, s);
    icmp6_rows(t, s);
    return out;
}

}  // namespace tapstack
