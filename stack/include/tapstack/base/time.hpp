#pragma once
// Time in the core is data: the edge passes `now` in, nothing under stack/ reads a clock.
#include <chrono>
#include <cstdint>

namespace tapstack {

/// A clock tag with no now(): instants come only from whoever drives the stack.
struct stack_clock {
    using rep = std::int64_t;
    using period = std::micro;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<stack_clock, duration>;
    static constexpr bool is_steady = true;
};

using duration = stack_clock::duration;
using instant = stack_clock::time_point;

constexpr instant instant_from_us(std::int64_t us) noexcept { return instant{duration{us}}; }
constexpr std::int64_t to_us(instant t) noexcept { return t.time_since_epoch().count(); }

}  // namespace tapstack
