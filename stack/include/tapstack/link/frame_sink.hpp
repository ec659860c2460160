#pragma once
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/time.hpp>

namespace tapstack::link {

/// Where frames go: the TAP device, an in-memory link, or a middleware (pcap tee, fault
/// injector) that passes them on. The frame is borrowed for the duration of the call only.
class frame_sink {
public:
    virtual void send_frame(bytes frame, instant now) = 0;
protected:
    ~frame_sink() = default;
};

}  // namespace tapstack::link
