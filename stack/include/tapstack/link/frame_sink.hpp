#pragma once
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/time.hpp>

namespace tapstack::link {

struct tx_offload;

/// Where frames go: the TAP device, an in-memory link, or a middleware (pcap tee, fault
/// injector) that passes them on. The frame is borrowed for the duration of the call only.
class frame_sink {
public:
    virtual void send_frame(bytes frame, instant now) = 0;
    /// A frame with offload work left for the link (link/offload.hpp): a TCP super-segment to
    /// be cut into gso_size pieces, its checksum partial. The stack sends these only when
    /// stack_config::tcp.gso_max_bytes is set. A link that cannot hand the work on (memory_link,
    /// fault_injector, ...) keeps this default, which does it in software (segment_in_software)
    /// and calls send_frame once per resulting frame.
    virtual void send_offloaded(bytes frame, instant now, const tx_offload& offload);

protected:
    ~frame_sink() = default;
};

}  // namespace tapstack::link
