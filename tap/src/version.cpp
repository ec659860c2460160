#include <tapstack/version.hpp>

namespace tapstack {
std::string_view version() noexcept { return TAPSTACK_VERSION; }
}  // namespace tapstack
