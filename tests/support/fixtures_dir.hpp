#pragma once
#include <string>

namespace tapstack::testing {
/// Absolute path of a file under pcaps/ in the source tree.
std::string fixture_path(const std::string& name);
}  // namespace tapstack::testing
