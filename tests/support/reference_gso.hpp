#pragma once
// A reference for what leaves a wire after a frame was written to a TAP with a vnet header and
// the kernel forwarded it to a NIC without offloads (a bridged veth with tso, gso and tx
// checksumming off): GSO cuts a TCP super-frame into gso_size pieces, then every partial
// checksum is completed. Written from the virtio 1.x §5.1.6 contract and Linux's documented
// behaviour, independently of link::segment_in_software (which recomputes the pseudo-header and
// so cannot tell a wrong seed from a right one): here the checksum of every piece is derived
// from the seed the frame carries, as the kernel derives it.
#include <string>
#include <vector>
#include <tapstack/base/bytes.hpp>
#include <tapstack/link/frame_sink.hpp>
#include <tapstack/link/offload.hpp>

namespace tapstack::testing {

/// What the wire carries for one frame written with vnet header `h`. Empty (and `error` says
/// why) when the kernel would refuse the frame or the request does not describe it: a GSO type
/// that is not the frame's IP version, hdr_len or csum_start not at the TCP header, csum_offset
/// not TCP's checksum field, gso_size 0, a GSO frame without NEEDS_CSUM.
std::vector<std::vector<std::byte>> reference_wire_frames(bytes frame, const link::vnet_header& h, std::string& error);

/// A frame_sink that stands for the TAP, the kernel and the wire: plain frames are recorded as
/// they are (a zero vnet header), offloaded ones as reference_wire_frames makes them.
class reference_wire final : public link::frame_sink {
public:
    void send_frame(bytes f, instant) override { frames.emplace_back(f.begin(), f.end()); }
    void send_offloaded(bytes f, instant now, const link::tx_offload& offload) override;

    std::vector<std::vector<std::byte>> frames;
    std::vector<std::string> errors;  // one per refused frame
    std::size_t gso_frames = 0, partial_frames = 0;
};

}  // namespace tapstack::testing
