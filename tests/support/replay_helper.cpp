#include "replay_helper.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include "fixtures_dir.hpp"

namespace tapstack::testing {

tap::replay_options recorded_host_options() {
    tap::replay_options o;
    o.host_ip = ip::address_v4{10, 77, 0, 1};
    o.app = tap::replay_app::echo;
    return o;
}

tap::replay_options recorded_host_options_v6() {
    tap::replay_options o;
    o.host_ip6 = ip::address_v6::from_string("fd77::1");
    o.prefix_length6 = 64;
    o.app = tap::replay_app::echo;
    return o;
}

tap::replay_report replay_fixture(const std::string& name, const tap::replay_options& opts) {
    return tap::replay_capture(fixture_path(name), opts);
}

::testing::AssertionResult replay_equivalent(const tap::replay_report& r) {
    if (r.equivalent()) return ::testing::AssertionSuccess() << r.summary();
    return ::testing::AssertionFailure() << "\n" << r.to_text();
}

std::string read_file_bytes(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

std::string replay_scratch_path(const std::string& name) {
    const std::filesystem::path dir = std::filesystem::path{TAPSTACK_BINARY_DIR} / "tests" / "replay_out";
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

::testing::AssertionResult matches_golden(const std::string& produced, const std::string& golden_name) {
    const std::string golden = fixture_path("golden/" + golden_name);
    const char* update = std::getenv("TAPSTACK_UPDATE_GOLDEN");
    if (update != nullptr && std::string{update} == "1") {
        std::filesystem::create_directories(std::filesystem::path{golden}.parent_path());
        std::filesystem::copy_file(produced, golden, std::filesystem::copy_options::overwrite_existing);
        return ::testing::AssertionSuccess() << "updated " << golden;
    }
    const std::string want = read_file_bytes(golden);
    if (want.empty())
        return ::testing::AssertionFailure() << golden << " is missing (run with TAPSTACK_UPDATE_GOLDEN=1)";
    const std::string got = read_file_bytes(produced);
    if (got == want) return ::testing::AssertionSuccess();
    std::size_t at = 0;
    while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
    return ::testing::AssertionFailure() << produced << " differs from " << golden << " at byte " << at << " (sizes "
                                         << got.size() << " and " << want.size()
                                         << "); compare them in Wireshark, refresh with TAPSTACK_UPDATE_GOLDEN=1";
}

}  // namespace tapstack::testing
