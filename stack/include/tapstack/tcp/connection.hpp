#pragma once
// One TCP connection: the RFC 9293 state machine, its buffers and its timers. It knows nothing
// of IP, ports tables or sockets: segments come in through on_segment() and leave through a
// segment_sink; the socket layer (stack/socket) owns the tables and the ISN/port secrets.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <tapstack/base/time.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/tcp/challenge_ack_limiter.hpp>
#include <tapstack/tcp/config.hpp>
#include <tapstack/tcp/stats.hpp>
#include <tapstack/wire/tcp.hpp>

namespace tapstack::tcp {

enum class state : std::uint8_t {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};
/// "SYN-SENT", "ESTABLISHED", ... as RFC 9293 spells them.
std::string_view to_string(state s) noexcept;

/// Why a connection ended other than by an orderly close. host_unreachable comes from an ICMP
/// error (RFC 1122 4.2.3.9): a hard one in SYN-SENT, or a soft one remembered until a timeout.
enum class error : std::uint8_t {
    none,
    connection_refused,
    connection_reset,
    timed_out,
    connection_aborted,
    host_unreachable,
};
std::string_view to_string(error e) noexcept;

/// A snapshot of the send/receive variables, for tests, `ss`-like tools and logs.
struct connection_info {
    seq_number iss, irs, snd_una, snd_nxt, snd_max, rcv_nxt;
    std::uint32_t snd_wnd = 0;  // scaled, bytes
    std::uint32_t rcv_wnd = 0;  // last advertised, bytes
    std::uint32_t cwnd = 0, ssthresh = 0;
    std::uint16_t peer_mss = 0;  // from the peer's SYN, or config.default_peer_mss
    std::uint16_t smss = 0;  // payload bytes of a full-sized segment we send
    std::uint8_t snd_wscale = 0, rcv_wscale = 0;
    bool window_scaling = false, timestamps = false, sack = false;
    bool in_recovery = false;
    duration srtt{}, rttvar{}, rto{};
    std::uint32_t ooo_bytes = 0;  // out-of-order bytes held
    error soft_error = error::none;  // the last soft ICMP error (RFC 1122 4.2.3.9), none once an ACK made progress
};

/// What became of an ICMP error that quoted one of this connection's segments.
enum class icmp_outcome : std::uint8_t {
    delivered,  // acted on (aborted, remembered as the soft error, or the MSS went down)
    out_of_window,  // RFC 5927 §4.1: the quoted sequence number is not in SND.UNA..SND.NXT-1
    ignored,  // a state where it means nothing (LISTEN, CLOSED, TIME-WAIT), or an MSS not lower
};

/// Where a connection's outgoing segments go (the socket layer wraps them in IP).
class segment_sink {
public:
    virtual void send_segment(const ip::four_tuple& tuple, const wire::tcp_segment& seg) = 0;

protected:
    ~segment_sink() = default;
};

/// What a connection tells the layer above. Every call is a hint to re-check the connection.
class connection_observer {
public:
    enum event : std::uint8_t {
        established = 1,  // SYN-SENT/SYN-RECEIVED -> ESTABLISHED
        readable = 2,  // new data, or FIN (eof), or an error
        writable = 4,  // send buffer space opened
        closed = 8,  // reached CLOSED (orderly, reset or timed out): may be freed once released
        /// R1 reached (RFC 9293 MUST-20, RFC 1122 4.2.3.5): the same segment went unacknowledged
        /// through config.r1_retries retransmissions. Negative advice for the IP layer, which
        /// should revalidate the next hop (RFC 1122 2.3.2.1); the connection carries on.
        retransmit_trouble = 16,
    };
    virtual void on_connection_event(class connection& c, std::uint8_t events) = 0;

protected:
    ~connection_observer() = default;
};

class connection {
public:
    connection(const config& cfg, tcp_stats& stats, segment_sink& out, connection_observer& observer) noexcept;
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // --- opening (RFC 9293 §3.10.1) ---
    /// Active open: CLOSED -> SYN-SENT, sends SYN. `ts_offset` randomizes TSval (RFC 7323 §5.4).
    void open_active(const ip::four_tuple& tuple, seq_number iss, std::uint32_t ts_offset, instant now);
    /// Passive open for a SYN that reached a listener: -> SYN-RECEIVED, sends SYN-ACK.
    void open_passive(const ip::four_tuple& tuple, const wire::tcp_segment& syn, seq_number iss,
                      std::uint32_t ts_offset, instant now);
    /// Passive open for a SYN answered statelessly with a SYN cookie (RFC 4987 §3.6): `syn` is the
    /// SYN rebuilt from the cookie (the peer's ISN, its MSS, no other option) and `iss` the
    /// cookie. Goes to SYN-RECEIVED as if our SYN-ACK (window syn_window(cfg), no window scale,
    /// SACK or timestamps) had just left; the caller then hands it the third-step ACK.
    void open_from_cookie(const ip::four_tuple& tuple, const wire::tcp_segment& syn, seq_number iss,
                          std::uint32_t ts_offset, instant now);
    /// The window a SYN or SYN-ACK advertises (never scaled, RFC 7323 §2.2).
    static std::uint16_t syn_window(const config& cfg) noexcept;

    // --- the wire ---
    /// RFC 9293 §3.10.7: every segment whose 4-tuple names this connection (checksum already checked).
    void on_segment(const wire::tcp_segment& seg, instant now);
    /// Fires whatever timers are due at `now` (RTO, delayed ACK, persist, keepalive, TIME-WAIT).
    void on_timer(instant now);
    /// The earliest pending timer, if any.
    std::optional<instant> deadline() const noexcept;
    /// The same as a plain instant, instant::max() for none: the socket layer asks after every
    /// event, and an optional returned through memory cost a store-forwarding stall each time.
    instant earliest_timer() const noexcept;

    // --- the application ---
    /// Copies as much of `data` as the send buffer takes; 0 when full (or not in a sending state).
    std::size_t send(bytes data, instant now);
    /// Gather send: the pieces in order, as many bytes as the send buffer takes (a piece cut
    /// short ends the call). All of them are queued before anything is sent, so pieces written
    /// together leave together (a header and its body in one segment when they fit).
    std::size_t send(std::span<const bytes> pieces, instant now);
    /// Copies in-order received bytes out; 0 when none (check eof()/last_error()).
    std::size_t receive(mutable_bytes out, instant now);
    std::size_t bytes_readable() const noexcept;
    std::size_t send_space() const noexcept;
    /// Bytes queued but not yet acknowledged by the peer (the Send-Q of ss).
    std::size_t bytes_unacknowledged() const noexcept;
    /// The peer's FIN has arrived and every byte before it has been read.
    bool eof() const noexcept;
    /// Half-close: FIN after the queued data (ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK).
    void shutdown_send(instant now);
    /// Orderly close: shutdown_send, and the application reads no more (data arriving later is
    /// answered with RST, RFC 9293 §3.10.7 / RFC 1122 4.2.2.13).
    void close(instant now);
    /// RST now, drop everything (SO_LINGER 0); goes CLOSED.
    void abort(instant now);
    /// Goes CLOSED without sending anything (an embryonic connection evicted from a full SYN
    /// backlog: its peer may be a spoofed address that would only cost an ARP and an RST).
    void drop(instant now);

    // --- options ---
    void set_no_delay(bool on) noexcept;
    /// SO_SNDBUF / SO_RCVBUF: this connection's ring sizes, fixed (no autotuning, as Linux does
    /// once the application sets one); at least one MSS. The receive size chooses the window
    /// scale when set before the SYN (RFC 7323 §2.3); after it, the window bound changes within
    /// the scale already negotiated and the advertised right edge never moves left.
    void set_send_buffer_size(std::uint32_t size) noexcept;
    void set_receive_buffer_size(std::uint32_t size) noexcept;
    /// The most each ring may hold (config.*_buffer_size unless set above).
    std::uint32_t send_buffer_size() const noexcept;
    std::uint32_t receive_buffer_size() const noexcept;
    /// True while either direction still follows demand (neither size was set).
    bool buffers_autotuned() const noexcept;
    /// The rings' sizes now (0: not allocated), for tests and listings.
    std::size_t send_ring_capacity() const noexcept;
    std::size_t receive_ring_capacity() const noexcept;
    void set_keep_alive(bool on, instant now) noexcept;
    /// The per-connection R2 (RFC 9293 MUST-21, §3.8.3; RFC 5482's user timeout): once data has
    /// gone this long without the peer acknowledging anything, the connection fails with
    /// timed_out. It replaces config.max_retries for data retransmissions; zero restores the
    /// count. The handshake keeps config.max_syn_retries (MUST-23's three minutes).
    void set_user_timeout(duration timeout) noexcept;
    /// RFC 5961 §7: the challenge ACK budget this connection draws on (not owned; it must outlive
    /// the connection). The socket layer passes the stack's one, so the limit is stack-wide;
    /// nullptr (and the default) is a budget of the connection's own.
    void set_challenge_ack_limiter(challenge_ack_limiter* limiter) noexcept;
    duration user_timeout() const noexcept;

    // --- ICMP errors (RFC 9293 §3.9.2.2 MUST-54, RFC 1122 4.2.3.9, RFC 5927) ---
    /// An ICMP destination unreachable / time exceeded / parameter problem that quotes a segment
    /// with sequence number `quoted_seq`. `hard` (protocol or port unreachable, administratively
    /// prohibited) aborts a connection still in SYN-SENT or SYN-RECEIVED with `reported`;
    /// anything else is soft (MUST-56): remembered, and reported in place of timed_out if the
    /// connection later times out.
    icmp_outcome on_icmp_error(seq_number quoted_seq, error reported, bool hard, instant now);
    /// Fragmentation needed / packet too big (RFC 1191, RFC 8201) quoting `quoted_seq`: the path
    /// takes segments of at most `mss` payload bytes. The send MSS only ever goes down, and (like
    /// Linux's tcp_simple_retransmit) data in flight goes again from SND.UNA in the new size.
    icmp_outcome on_path_mtu(seq_number quoted_seq, std::uint16_t mss, instant now);
    /// The last soft ICMP error, none when there was none since the last ACK that made progress.
    error soft_error() const noexcept;

    // --- inspection ---
    state current_state() const noexcept;
    error last_error() const noexcept;
    /// RFC 9293 MUST-11: whether the connection began with a passive open (a SYN that reached a
    /// listener). It decides what an RST in SYN-RECEIVED reports.
    bool passive_open() const noexcept;
    const ip::four_tuple& tuple() const noexcept;
    seq_number rcv_nxt() const noexcept;
    /// RFC 9293 §3.10.7.4 / RFC 6191: may a new SYN with this ISN replace us (we are in TIME-WAIT)?
    bool accepts_reincarnation(const wire::tcp_segment& syn) const noexcept;
    connection_info info() const noexcept;

    /// Opaque slot the socket layer uses to find its own bookkeeping.
    void* user_data = nullptr;

private:
    struct impl;
    impl* impl_;  // allocated at construction (connection set-up, never per packet)
};

}  // namespace tapstack::tcp
