#include <gtest/gtest.h>

#include <set>
#include <string>

#include <tapstack/ip/address.hpp>
#include <tapstack/wire/mac.hpp>

using namespace tapstack;
using namespace tapstack::ip;

TEST(AddressV4, ParsesAndPrints) {
    auto a = address_v4::from_string("10.0.0.2");
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, address_v4(10, 0, 0, 2));
    EXPECT_EQ(a->to_uint(), 0x0a000002u);
    EXPECT_EQ(a->to_string(), "10.0.0.2");
    EXPECT_EQ(address_v4::from_string("255.255.255.255"), address_v4::broadcast());
    EXPECT_EQ(address_v4::from_string("0.0.0.0"), address_v4::any());
    EXPECT_EQ(address_v4(192, 168, 100, 254).to_string(), "192.168.100.254");
}

TEST(AddressV4, RejectsBadText) {
    for (const char* s : {"", "10.0.0", "10.0.0.2.1", "256.0.0.1", "10.0.0.-1", "10.0.0.2 ", " 10.0.0.2", "a.b.c.d",
                          "10..0.2", "10.0.0.2/24", "::1", "0x0a.0.0.2", "1.2.3.4:80", "012.0.0.1"})
        EXPECT_FALSE(address_v4::from_string(s)) << s;
    EXPECT_FALSE(address_v4::from_string(std::string_view{"10.0.0.2\0", 9}));
    EXPECT_FALSE(address_v4::from_string(std::string(100, '1')));
}

TEST(AddressV4, Classification) {
    EXPECT_TRUE(address_v4(224, 0, 0, 1).is_multicast());
    EXPECT_TRUE(address_v4(127, 0, 0, 1).is_loopback());
    EXPECT_FALSE(address_v4(10, 0, 0, 1).is_multicast());
}

TEST(AddressV6, ParsesAndPrints) {
    auto a = address_v6::from_string("2001:db8::1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_bytes()[0], 0x20);
    EXPECT_EQ(a->to_bytes()[1], 0x01);
    EXPECT_EQ(a->to_bytes()[15], 0x01);
    EXPECT_EQ(a->to_string(), "2001:db8::1");
    EXPECT_EQ(address_v6::from_string("2001:0DB8:0000:0000:0000:0000:0000:0001")->to_string(), "2001:db8::1");
    EXPECT_TRUE(address_v6::from_string("::")->is_unspecified());
    EXPECT_TRUE(address_v6::from_string("fe80::1")->is_link_local());
    EXPECT_TRUE(address_v6::from_string("ff02::1")->is_multicast());
    auto mapped = address_v6::from_string("::ffff:10.0.0.2");
    ASSERT_TRUE(mapped);
    EXPECT_TRUE(mapped->is_v4_mapped());
    EXPECT_EQ(mapped->to_string(), "::ffff:10.0.0.2");
}

TEST(AddressV6, RejectsBadText) {
    for (const char* s : {"", ":", "2001:db8::1::2", "2001:db8:::1", "12345::", "g::1", "[::1]", "::1%eth0",
                          "1:2:3:4:5:6:7:8:9", "10.0.0.2"})
        EXPECT_FALSE(address_v6::from_string(s)) << s;
}

TEST(Address, FamilyFollowsTheText) {
    auto v4 = address::from_string("10.0.0.2");
    ASSERT_TRUE(v4);
    EXPECT_TRUE(v4->is_v4());
    EXPECT_EQ(v4->to_v4(), address_v4(10, 0, 0, 2));
    EXPECT_EQ(v4->to_string(), "10.0.0.2");
    auto mapped = address::from_string("::ffff:10.0.0.2");
    ASSERT_TRUE(mapped);
    EXPECT_TRUE(mapped->is_v6());  // the text named an IPv6 address
    EXPECT_EQ(mapped->key_bytes(), v4->key_bytes());  // but the same table key
    EXPECT_NE(*mapped, *v4);
    EXPECT_EQ(mapped->to_string(), "::ffff:10.0.0.2");
    auto v6 = address::from_string("fe80::abcd");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->is_v6());
    EXPECT_EQ(v6->to_string(), "fe80::abcd");
    EXPECT_FALSE(address::from_string("nonsense"));
    EXPECT_FALSE(address::from_string("10.0.0.256"));
}

TEST(Address, DefaultIsV4Unspecified) {
    address a;
    EXPECT_TRUE(a.is_v4());
    EXPECT_TRUE(a.is_unspecified());
    EXPECT_EQ(a.to_string(), "0.0.0.0");
}

TEST(InterfaceAddress, ParsesPrefix) {
    auto ia = interface_address::from_string("10.0.0.2/24");
    ASSERT_TRUE(ia);
    EXPECT_EQ(ia->addr, address_v4(10, 0, 0, 2));
    EXPECT_EQ(ia->prefix_length, 24);
    EXPECT_EQ(ia->netmask(), 0xffffff00u);
    EXPECT_TRUE(ia->contains(address_v4(10, 0, 0, 200)));
    EXPECT_FALSE(ia->contains(address_v4(10, 0, 1, 1)));
    EXPECT_EQ(ia->directed_broadcast(), address_v4(10, 0, 0, 255));
    EXPECT_EQ(ia->to_string(), "10.0.0.2/24");
    EXPECT_EQ(interface_address::from_string("0.0.0.0/0")->netmask(), 0u);
    EXPECT_EQ(interface_address::from_string("192.168.1.1/32")->prefix_length, 32);
    EXPECT_EQ(interface_address::from_string("192.168.1.1")->prefix_length, 32);
}

TEST(InterfaceAddress, RejectsBadText) {
    for (const char* s : {"10.0.0.2/33", "10.0.0.2/", "10.0.0.2/-1", "10.0.0.2/+8", "10.0.0.2/24/", "10.0.0.2/2a",
                          "/24", "10.0.0/24", "::1/64", "10.0.0.2/ 24", "10.0.0.2/100000"})
        EXPECT_FALSE(interface_address::from_string(s)) << s;
}

TEST(Endpoint, ParsesBothFamilies) {
    auto e = endpoint::from_string("1.2.3.4:80");
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->address.is_v4());
    EXPECT_EQ(e->address.to_v4(), address_v4(1, 2, 3, 4));
    EXPECT_EQ(e->port, 80);
    EXPECT_EQ(e->to_string(), "1.2.3.4:80");
    auto e6 = endpoint::from_string("[::1]:8080");
    ASSERT_TRUE(e6);
    EXPECT_TRUE(e6->address.is_v6());
    EXPECT_EQ(e6->port, 8080);
    EXPECT_EQ(e6->to_string(), "[::1]:8080");
    EXPECT_EQ(endpoint::from_string("0.0.0.0:0")->port, 0);
    EXPECT_EQ(endpoint::from_string("10.0.0.1:65535")->port, 65535);
    EXPECT_EQ(endpoint::from_string("[2001:db8::5]:443")->to_string(), "[2001:db8::5]:443");
}

TEST(Endpoint, RejectsBadText) {
    for (const char* s :
         {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:8a", "1.2.3.4: 80", ":80", "::1:80",
          "[::1]", "[::1]80", "[::1:80", "[1.2.3.4]:80", "[]:80", "1.2.3.4:+80", "1.2.3.4:999999", "host:80"})
        EXPECT_FALSE(endpoint::from_string(s)) << s;
}

TEST(FourTuple, PrintsBothEnds) {
    four_tuple t{*endpoint::from_string("10.0.0.2:80"), *endpoint::from_string("10.0.0.1:48120")};
    EXPECT_EQ(t.to_string(), "10.0.0.2:80 <-> 10.0.0.1:48120");
}

TEST(FourTuple, HashSeparatesNearbyTuples) {
    // Every port of a /24 of peers: no two tuples may collide in the full 64-bit hash, and the
    // low bits (what a power-of-two bucket count uses) must spread.
    std::set<std::size_t> seen;
    std::set<std::size_t> low_bits;
    const endpoint local{address{address_v4(10, 0, 0, 2)}, 80};
    for (unsigned host = 0; host < 64; ++host)
        for (unsigned port = 40000; port < 40064; ++port) {
            four_tuple t{local,
                         endpoint{address{address_v4(10, 0, 1, static_cast<std::uint8_t>(host))},
                                  static_cast<port_number>(port)}};
            seen.insert(hash_value(t));
            low_bits.insert(hash_value(t) & 1023);
        }
    EXPECT_EQ(seen.size(), 64u * 64u);
    EXPECT_GT(low_bits.size(), 900u);  // 4096 balls in 1024 bins leave ~19 empty on average
    // Swapping ends or ports is a different connection.
    four_tuple a{endpoint{address{address_v4(1, 1, 1, 1)}, 1}, endpoint{address{address_v4(2, 2, 2, 2)}, 2}};
    four_tuple b{a.remote, a.local};
    four_tuple c{endpoint{a.local.address, 2}, endpoint{a.remote.address, 1}};
    EXPECT_NE(hash_value(a), hash_value(b));
    EXPECT_NE(hash_value(a), hash_value(c));
    EXPECT_EQ(hash_value(a), hash_value(four_tuple{a}));
}

TEST(MacAddress, ParsesBothSeparators) {
    auto m = link::mac_address::from_string("02:00:00:00:00:01");
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, (link::mac_address{{0x02, 0, 0, 0, 0, 0x01}}));
    auto d = link::mac_address::from_string("52-54-00-AB-cd-Ef");
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, (link::mac_address{{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}}));
    EXPECT_EQ(d->to_string(), "52:54:00:ab:cd:ef");
    EXPECT_TRUE(link::mac_address::from_string("ff:ff:ff:ff:ff:ff")->is_broadcast());
    EXPECT_TRUE(link::mac_address::from_string("01:00:5e:00:00:01")->is_multicast());
    EXPECT_EQ(link::mac_address::broadcast().to_string(), "ff:ff:ff:ff:ff:ff");
}

TEST(MacAddress, RejectsBadText) {
    for (const char* s :
         {"", "02:00:00:00:00", "02:00:00:00:00:01:", "02:00:00:00:00:0g", "02:00-00:00:00:01", "2:00:00:00:00:01",
          "02.00.00.00.00.01", "0200:0000:0001", "02:00:00:00:00:001", " 02:00:00:00:00:1"})
        EXPECT_FALSE(link::mac_address::from_string(s)) << s;
}
