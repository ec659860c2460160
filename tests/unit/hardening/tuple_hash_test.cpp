// Hardening: the 4-tuple table's hash is keyed. A peer that knows the hash function (it is in
// this repository) can choose source ports whose tuples share one bucket of an unkeyed table and
// turn every lookup into a walk along that chain; with the stack's secret mixed in, the same
// tuples spread like any others.
#include <gtest/gtest.h>
#include <algorithm>
#include <memory>
#include <vector>
#include "../../../stack/src/stack/stack_impl.hpp"

using namespace tapstack;

namespace {

constexpr std::size_t bucket_count = 4096;  // the stack's table at max_tcp_sockets = 4096

/// Tuples to one local port whose *unkeyed* hash lands in bucket 0: what an attacker precomputes.
std::vector<ip::four_tuple> tuples_aimed_at_bucket_zero(std::size_t want) {
    std::vector<ip::four_tuple> aimed;
    const ip::endpoint local{ip::address{ip::address_v4{10, 0, 0, 2}}, 80};
    for (unsigned host = 1; aimed.size() < want && host < 255; ++host)
        for (unsigned port = 1024; aimed.size() < want && port <= 65535; ++port) {
            const ip::four_tuple t{local,
                                   {ip::address{ip::address_v4{10, 9, 0, static_cast<std::uint8_t>(host)}},
                                    static_cast<std::uint16_t>(port)}};
            if ((ip::hash_value(t) & (bucket_count - 1)) == 0) aimed.push_back(t);
        }
    return aimed;
}

/// The longest chain once every tuple is in a table hashed with `key`.
std::size_t longest_chain(const std::vector<ip::four_tuple>& tuples, std::uint64_t key) {
    std::vector<tuple_table::bucket_type> buckets(bucket_count);
    tuple_table table{tuple_table::bucket_traits(buckets.data(), buckets.size()), tuple_hash{&key}};
    std::vector<std::unique_ptr<tcp_socket>> sockets;
    for (const auto& t : tuples) {
        sockets.push_back(std::make_unique<tcp_socket>());
        sockets.back()->tuple = t;
        table.insert(*sockets.back());
    }
    std::size_t longest = 0;
    for (std::size_t b = 0; b < table.bucket_count(); ++b) longest = std::max(longest, table.bucket_size(b));
    for (const auto& t : tuples) EXPECT_NE(table.find(t), table.end());
    table.clear();
    return longest;
}

TEST(TupleTable, TuplesAimedAtOneBucketOfTheUnkeyedHashSpreadUnderASecretKey) {
    const auto aimed = tuples_aimed_at_bucket_zero(64);
    ASSERT_EQ(aimed.size(), 64u);
    EXPECT_EQ(longest_chain(aimed, 0), 64u);  // the attack works on an unkeyed table
    // Under a secret key the 64 tuples are 64 balls in 4096 bins: a chain of 5 has odds of about
    // 1 in 10^7. Several keys, as several stacks' seeds would give.
    random_source rng{2026};
    for (int i = 0; i < 8; ++i) EXPECT_LE(longest_chain(aimed, rng.next()), 4u);
}

TEST(TupleTable, TheKeyChangesEveryTuplesHash) {
    const ip::four_tuple t{{ip::address{ip::address_v4{10, 0, 0, 2}}, 80},
                           {ip::address{ip::address_v4{10, 0, 0, 1}}, 40000}};
    EXPECT_NE(ip::hash_value(t, 1), ip::hash_value(t, 2));
    EXPECT_EQ(ip::hash_value(t, 7), ip::hash_value(ip::four_tuple{t}, 7));
}

}  // namespace
