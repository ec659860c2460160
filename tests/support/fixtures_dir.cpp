#include "fixtures_dir.hpp"

namespace tapstack::testing {
std::string fixture_path(const std::string& name) { return std::string{TAPSTACK_SOURCE_DIR} + "/pcaps/" + name; }
}  // namespace tapstack::testing
