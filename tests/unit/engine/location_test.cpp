// Location::parse / to_string.
#include <gtest/gtest.h>

#include "probekit/probekit.h"

namespace probekit {
namespace {

TEST(Location, SymbolForms) {
  auto l = Location::parse("malloc");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->module, "");
  EXPECT_EQ(l->symbol, "malloc");
  EXPECT_EQ(l->offset, 0u);
  EXPECT_FALSE(l->address.has_value());

  l = Location::parse("libc.so.6:malloc+0x10");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->module, "libc.so.6");
  EXPECT_EQ(l->symbol, "malloc");
  EXPECT_EQ(l->offset, 0x10u);
  EXPECT_EQ(l->to_string(), "libc.so.6:malloc+0x10");

  l = Location::parse("work+4");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->symbol, "work");
  EXPECT_EQ(l->offset, 4u);
}

TEST(Location, CxxNamesKeepTheirColonsAndPlus) {
  auto l = Location::parse("libfoo.so:ns::Widget::draw");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->module, "libfoo.so");
  EXPECT_EQ(l->symbol, "ns::Widget::draw");
  l = Location::parse("ns::f+0x8");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->module, "");
  EXPECT_EQ(l->symbol, "ns::f");
  EXPECT_EQ(l->offset, 8u);
  l = Location::parse("a.out:Vec::operator+");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->module, "a.out");
  EXPECT_EQ(l->symbol, "Vec::operator+");
  EXPECT_EQ(l->offset, 0u);
}

TEST(Location, Addresses) {
  auto l = Location::parse("0x401000");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l->address, 0x401000u);
  EXPECT_EQ(l->module, "");
  l = Location::parse("/usr/lib/x86_64-linux-gnu/libc.so.6:0x2a0f0");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->module, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(*l->address, 0x2a0f0u);
  EXPECT_EQ(l->to_string(), "/usr/lib/x86_64-linux-gnu/libc.so.6:0x2a0f0");
}

TEST(Location, Errors) {
  EXPECT_EQ(Location::parse("").error().kind(), ErrorKind::parse);
  EXPECT_EQ(Location::parse(":malloc").error().kind(), ErrorKind::parse);
  EXPECT_EQ(Location::parse("libc:").error().kind(), ErrorKind::parse);
  EXPECT_EQ(Location::parse("0xzz").error().kind(), ErrorKind::parse);
  EXPECT_EQ(Location::parse("f+0x1g").error().kind(), ErrorKind::parse);
}

}  // namespace
}  // namespace probekit
