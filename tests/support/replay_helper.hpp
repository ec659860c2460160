#pragma once
// Replaying a pcaps/ fixture in a test takes a few lines:
//   auto r = tapstack::testing::replay_fixture("tcp_echo_linux.pcap", opts);
//   EXPECT_TRUE(tapstack::testing::replay_equivalent(r));   // prints the report when not
#include <string>
#include <vector>
#include <gtest/gtest.h>
#include <tapstack/replay/replay.hpp>

namespace tapstack::testing {

/// Options for the fixtures recorded by pcaps/record.sh: the host is 10.77.0.1, app echo.
tap::replay_options recorded_host_options();

/// Options for the IPv6 fixtures (pcaps/record.sh setup6): the host is fd77::1/64, app echo.
tap::replay_options recorded_host_options_v6();

/// Replays pcaps/NAME (throws tap::replay_error like replay_capture).
tap::replay_report replay_fixture(const std::string& name, const tap::replay_options& opts);

/// Success when every flow is equivalent; otherwise the failure message is the full report.
::testing::AssertionResult replay_equivalent(const tap::replay_report& r);

/// The bytes of a file ("" when missing).
std::string read_file_bytes(const std::string& path);

/// A scratch path under the build tree (tests/replay_out/NAME).
std::string replay_scratch_path(const std::string& name);

/// Compares `produced` with the golden file pcaps/golden/NAME byte for byte; with
/// TAPSTACK_UPDATE_GOLDEN=1 in the environment the golden file is rewritten instead.
::testing::AssertionResult matches_golden(const std::string& produced, const std::string& golden_name);

}  // namespace tapstack::testing
