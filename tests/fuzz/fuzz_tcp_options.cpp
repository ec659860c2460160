// libFuzzer target: the TCP option decoder on raw bytes, and encode -> decode of what it accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <tapstack/wire/tcp.hpp>

using namespace tapstack;
using namespace tapstack::wire;

#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            __builtin_printf("check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                              \
        }                                                                              \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> buf(size);
    if (size) std::memcpy(buf.data(), data, size);
    auto opts = decode_tcp_options(buf);
    if (!opts) {
        FUZZ_CHECK(opts.error() == parse_error::bad_option);
        return 0;
    }
    FUZZ_CHECK(opts->sack_count <= 4);
    for (std::size_t i = opts->sack_count; i < opts->sack.size(); ++i) FUZZ_CHECK(opts->sack[i] == sack_block{});
    const std::size_t n = opts->encoded_size();
    FUZZ_CHECK(n % 4 == 0 && n <= tcp_max_options_size);

    // Through a whole segment, over both families' pseudo-headers.
    tcp_segment seg;
    seg.options = *opts;
    seg.flags.ack = true;
    static const ip::address v4a{ip::address_v4{192, 0, 2, 1}}, v4b{ip::address_v4{192, 0, 2, 2}};
    static const ip::address v6a{
        ip::address_v6{ip::address_v6::bytes_type{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}};
    for (const auto* src : {&v4a, &v6a}) {
        std::vector<std::byte> out(seg.encoded_size());
        encode_tcp(seg, out, *src, v4b);
        auto v = tcp_view::parse(out, *src, v4b);
        FUZZ_CHECK(v.has_value());
        FUZZ_CHECK(v->options().size() == n);
        auto back = v->decode();
        FUZZ_CHECK(back.has_value());
        // Everything survives except SACK blocks beyond the 40-byte option space.
        FUZZ_CHECK(back->options.mss == opts->mss);
        FUZZ_CHECK(back->options.window_scale == opts->window_scale);
        FUZZ_CHECK(back->options.sack_permitted == opts->sack_permitted);
        FUZZ_CHECK(back->options.timestamps == opts->timestamps);
        FUZZ_CHECK(back->options.sack_count <= opts->sack_count);
        for (std::size_t i = 0; i < back->options.sack_count; ++i) FUZZ_CHECK(back->options.sack[i] == opts->sack[i]);
        // A second trip is exact.
        std::vector<std::byte> again(back->encoded_size());
        encode_tcp(*back, again, *src, v4b);
        FUZZ_CHECK(again == out);
    }
    return 0;
}
