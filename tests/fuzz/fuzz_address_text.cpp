// libFuzzer target: the text parsers (addresses, endpoints, prefixes, MACs). Whatever parses must
// print to text that parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <tapstack/ip/address.hpp>
#include <tapstack/wire/mac.hpp>

using namespace tapstack;

#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            __builtin_printf("check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                              \
        }                                                                              \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string owned(reinterpret_cast<const char*>(data), size);  // exact-size heap copy
    const std::string_view s{owned};
    if (auto a = ip::address_v4::from_string(s)) FUZZ_CHECK(ip::address_v4::from_string(a->to_string()) == a);
    if (auto a = ip::address_v6::from_string(s)) FUZZ_CHECK(ip::address_v6::from_string(a->to_string()) == a);
    if (auto a = ip::address::from_string(s)) FUZZ_CHECK(ip::address::from_string(a->to_string()) == a);
    if (auto e = ip::endpoint::from_string(s)) FUZZ_CHECK(ip::endpoint::from_string(e->to_string()) == e);
    if (auto i = ip::interface_address::from_string(s)) {
        auto back = ip::interface_address::from_string(i->to_string());
        FUZZ_CHECK(back && back->addr == i->addr && back->prefix_length == i->prefix_length);
        FUZZ_CHECK(i->prefix_length <= 32);
    }
    if (auto m = link::mac_address::from_string(s)) FUZZ_CHECK(link::mac_address::from_string(m->to_string()) == m);
    return 0;
}
