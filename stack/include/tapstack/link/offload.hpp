#pragma once
// Checksum and segmentation offload between the stack and a link that speaks virtio-net's
// header (a Linux TAP opened with IFF_VNET_HDR): what an inbound frame's header says about its
// checksum and size (rx_offload), what an outbound super-frame asks the link to do (tx_offload),
// and the 10-byte struct virtio_net_hdr itself (virtio 1.x §5.1.6, <linux/virtio_net.h>).
//
// Inbound: with TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) the kernel hands a TAP reader
// TCP "super-frames" of up to 64 KiB (gso_type TCPV4/TCPV6, gso_size = the MSS the sender would
// have cut them into) whose TCP checksum is *partial* (VIRTIO_NET_HDR_F_NEEDS_CSUM: the field
// holds only the pseudo-header sum). They never crossed a wire: the checksum must not be checked.
// Outbound: the stack may build one TCP segment of up to 64 KiB and give it to the link with
// gso_size = MSS; the kernel cuts it (or, delivering locally, takes it whole).
#include <cstdint>
#include <optional>
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/time.hpp>

namespace tapstack::link {

class frame_sink;

/// VIRTIO_NET_HDR_GSO_* (the low 7 bits of gso_type; 0x80 is the ECN flag).
enum class gso_kind : std::uint8_t { none = 0, tcpv4 = 1, udp = 3, tcpv6 = 4 };

/// struct virtio_net_hdr without the optional num_buffers field: 10 bytes. tapstack sets
/// TUNSETVNETHDRSZ to 10 (the legacy size, what TAP uses by default), so every read() starts
/// with this header and every write() must.
struct vnet_header {
    static constexpr std::size_t size = 10;
    static constexpr std::uint8_t flag_needs_csum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
    static constexpr std::uint8_t flag_data_valid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
    static constexpr std::uint8_t gso_ecn = 0x80;  // VIRTIO_NET_HDR_GSO_ECN

    std::uint8_t flags = 0;
    std::uint8_t gso_type = 0;
    std::uint16_t hdr_len = 0;  // Ethernet + IP + TCP header bytes of a GSO frame
    std::uint16_t gso_size = 0;  // payload bytes per segment after splitting
    std::uint16_t csum_start = 0;  // from the start of the frame: where the checksummed part begins
    std::uint16_t csum_offset = 0;  // from csum_start: where the checksum field is (16 TCP, 6 UDP)

    /// Fields are in the host's byte order: a TAP's vnet header is "legacy" virtio, native
    /// endian unless TUNSETVNETLE/BE says otherwise (we never set it). nullopt: fewer than 10 bytes.
    static std::optional<vnet_header> parse(bytes b) noexcept;
    /// Writes exactly `size` bytes.
    void encode(mutable_bytes out) const noexcept;
    friend bool operator==(const vnet_header&, const vnet_header&) noexcept = default;
};

/// What the link tells the stack about one inbound frame. Default: nothing (verify everything).
struct rx_offload {
    bool needs_csum = false;  // the L4 checksum is partial (the kernel never computed it)
    bool data_valid = false;  // the kernel already checked it
    gso_kind gso = gso_kind::none;
    std::uint16_t gso_size = 0;

    /// The TCP checksum is not to be verified: partial, already checked, or a GSO super-frame
    /// (which is always partial). Such frames come from the local kernel, never from a wire.
    bool l4_checksum_trusted() const noexcept {
        return needs_csum || data_valid || gso == gso_kind::tcpv4 || gso == gso_kind::tcpv6;
    }
    static rx_offload from(const vnet_header& h) noexcept;
};

/// What the stack asks of the link for one outbound frame (a TCP super-segment).
struct tx_offload {
    gso_kind gso = gso_kind::none;
    std::uint16_t gso_size = 0;  // MSS: payload bytes per segment
    std::uint16_t hdr_len = 0;  // Ethernet + IP + TCP header bytes
    bool needs_csum = false;  // the TCP checksum field holds the pseudo-header sum only
    std::uint16_t csum_start = 0;  // offset of the TCP header in the frame
    std::uint16_t csum_offset = 0;  // 16: TCP's checksum field

    vnet_header to_vnet_header() const noexcept;
    friend bool operator==(const tx_offload&, const tx_offload&) noexcept = default;
};

/// Biggest TCP payload of one super-segment: an IP packet's length field is 16 bits
/// (65535 - 40 IPv6 header - 60 TCP header with options, rounded down).
constexpr std::uint32_t max_gso_payload = 65400;

/// Fills in a partial checksum (NEEDS_CSUM): the one's complement sum from csum_start to the
/// end of the frame, stored at csum_start + csum_offset (virtio 1.x §5.1.6.2). False when the
/// offsets do not fit the frame.
bool complete_partial_checksum(mutable_bytes frame, std::uint16_t csum_start, std::uint16_t csum_offset) noexcept;

/// Cuts a TCP super-frame (IPv4 or IPv6 over Ethernet, as the stack builds them) into frames of
/// at most hdr_len + gso_size bytes with full checksums and passes each to `sink.send_frame`,
/// as the kernel's GSO would: sequence numbers advance, IPv4 IDs count up from the super-frame's,
/// FIN and PSH stay on the last piece, CWR on the first. A frame without GSO but with a partial
/// checksum is completed first. Copies into a buffer that grows once per thread. Returns the
/// number of frames sent (0: malformed, nothing sent). The default of frame_sink::send_offloaded.
std::size_t segment_in_software(bytes frame, const tx_offload& offload, frame_sink& sink, instant now);

}  // namespace tapstack::link
