// pcap_writer / pcap_reader / pcap_tee (tap/): round trips and the errors the replay tool
// must report clearly.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include <tapstack/tap/pcap_reader.hpp>
#include <tapstack/tap/pcap_writer.hpp>

namespace {

using namespace tapstack;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct PcapIo : ::testing::Test {
    fs::path dir;
    void SetUp() override {
        dir = fs::temp_directory_path() /
            ("tapstack-pcap-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string path(const char* name) const { return (dir / name).string(); }
};

std::vector<std::byte> frame_of(std::uint8_t tag, std::size_t size) {
    std::vector<std::byte> f(size);
    for (std::size_t i = 0; i < size; ++i) f[i] = std::byte(static_cast<std::uint8_t>(tag + i));
    return f;
}

std::vector<std::byte> as_vector(bytes b) { return {b.begin(), b.end()}; }

void write_file(const std::string& p, const std::vector<std::uint8_t>& content) {
    std::ofstream out{p, std::ios::binary};
    out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
}

TEST_F(PcapIo, MicrosecondRoundTrip) {
    const auto f1 = frame_of(1, 60), f2 = frame_of(2, 1514), f3 = frame_of(3, 42);
    {
        tap::pcap_writer w{path("a.pcap")};
        w.write(f1, std::chrono::nanoseconds{1'234'567'891});  // sub-µs part is cut
        w.write(f2, instant_from_us(2'000'001));
        w.set_epoch(std::chrono::seconds{1'700'000'000});
        w.write(f3, instant_from_us(5));
        EXPECT_EQ(w.frames_written(), 3u);
    }
    tap::pcap_reader r{path("a.pcap")};
    auto a = r.next();
    ASSERT_TRUE(a);
    EXPECT_EQ(as_vector(a->frame), f1);
    EXPECT_EQ(a->timestamp, std::chrono::nanoseconds{1'234'567'000});
    EXPECT_EQ(a->original_length, 60u);
    EXPECT_EQ(a->index, 0u);
    auto b = r.next();
    ASSERT_TRUE(b);
    EXPECT_EQ(as_vector(b->frame), f2);
    EXPECT_EQ(b->timestamp, 2'000'001us);
    auto c = r.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(as_vector(c->frame), f3);
    EXPECT_EQ(c->timestamp, std::chrono::seconds{1'700'000'000} + 5us);
    EXPECT_EQ(c->index, 2u);
    EXPECT_FALSE(r.next());
    EXPECT_FALSE(r.next());
}

TEST_F(PcapIo, NanosecondRoundTrip) {
    const auto f = frame_of(9, 100);
    {
        tap::pcap_writer w{path("n.pcap"), tap::timestamp_precision::nano};
        w.write(f, std::chrono::nanoseconds{3'000'000'007});
    }
    tap::pcap_reader r{path("n.pcap")};
    auto a = r.next();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->timestamp, std::chrono::nanoseconds{3'000'000'007});
    EXPECT_EQ(as_vector(a->frame), f);
}

TEST_F(PcapIo, SnaplenCutsAndKeepsTheOriginalLength) {
    {
        tap::pcap_writer w{path("s.pcap"), tap::timestamp_precision::micro, 64};
        w.write(frame_of(1, 100), instant{});
    }
    tap::pcap_reader r{path("s.pcap")};
    EXPECT_EQ(r.snaplen(), 64u);
    auto a = r.next();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->frame.size(), 64u);
    EXPECT_EQ(a->original_length, 100u);
}

TEST_F(PcapIo, FlushMakesFramesVisibleWhileWriting) {
    tap::pcap_writer w{path("f.pcap")};
    w.write(frame_of(1, 60), instant{});
    w.flush();
    tap::pcap_reader r{path("f.pcap")};
    EXPECT_TRUE(r.next());
}

TEST_F(PcapIo, TeeRecordsAndForwards) {
    struct counter final : link::frame_sink {
        int n = 0;
        void send_frame(bytes, instant) override { ++n; }
    } next;
    {
        tap::pcap_writer w{path("t.pcap")};
        tap::pcap_tee tee{w, &next};
        tee.send_frame(frame_of(1, 60), instant{});
        tee.send_frame(frame_of(2, 60), instant{});
        tap::pcap_tee record_only{w, nullptr};
        record_only.send_frame(frame_of(3, 60), instant{});
    }
    EXPECT_EQ(next.n, 2);
    tap::pcap_reader r{path("t.pcap")};
    int frames = 0;
    while (r.next()) ++frames;
    EXPECT_EQ(frames, 3);
}

TEST_F(PcapIo, MissingFileNamesThePath) {
    try {
        tap::pcap_reader r{path("nope.pcap")};
        FAIL() << "no exception";
    } catch (const tap::pcap_error& e) {
        EXPECT_NE(std::string{e.what()}.find("nope.pcap"), std::string::npos) << e.what();
    }
}

TEST_F(PcapIo, NotACaptureIsRejected) {
    write_file(path("garbage.pcap"), std::vector<std::uint8_t>(100, 0x42));
    EXPECT_THROW(tap::pcap_reader{path("garbage.pcap")}, tap::pcap_error);
}

TEST_F(PcapIo, WrongLinkTypeIsRejected) {
    // A classic pcap header (little-endian, v2.4, snaplen 65535) with link type 101: raw IP.
    write_file(path("raw.pcap"),
               {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0});
    try {
        tap::pcap_reader r{path("raw.pcap")};
        FAIL() << "no exception";
    } catch (const tap::pcap_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("link type"), std::string::npos) << msg;
        EXPECT_NE(msg.find("EN10MB"), std::string::npos) << msg;
    }
}

TEST_F(PcapIo, TruncatedRecordThrowsAfterTheGoodOnes) {
    {
        tap::pcap_writer w{path("cut.pcap")};
        w.write(frame_of(1, 60), instant{});
        w.write(frame_of(2, 60), instant{});
    }
    const auto size = fs::file_size(path("cut.pcap"));
    fs::resize_file(path("cut.pcap"), size - 10);  // the second record loses its tail
    tap::pcap_reader r{path("cut.pcap")};
    ASSERT_TRUE(r.next());
    try {
        (void)r.next();
        FAIL() << "no exception";
    } catch (const tap::pcap_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("cut.pcap"), std::string::npos) << msg;
        EXPECT_NE(msg.find("record 1"), std::string::npos) << msg;
    }
}

TEST_F(PcapIo, UnwritablePathThrows) { EXPECT_THROW(tap::pcap_writer{path("no/such/dir/x.pcap")}, std::runtime_error); }

}  // namespace
