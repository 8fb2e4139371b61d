#include "util/strings.h"

#include <gtest/gtest.h>

using namespace probekit;

TEST(Glob, StarQuestionBracket) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("mal*", "malloc"));
  EXPECT_FALSE(glob_match("mal*", "calloc"));
  EXPECT_TRUE(glob_match("?alloc", "calloc"));
  EXPECT_TRUE(glob_match("[cm]alloc", "malloc"));
  EXPECT_FALSE(glob_match("[!cm]alloc", "malloc"));
  EXPECT_TRUE(glob_match("[a-z]*[0-9]", "x86"));
  EXPECT_TRUE(glob_match("*a*b*c", "xxaxxbxxc"));
  EXPECT_FALSE(glob_match("*a*b*c", "xxaxxbxxcx"));
  EXPECT_TRUE(glob_match("a\\*", "a*"));
  EXPECT_FALSE(glob_match("a\\*", "ab"));
  EXPECT_TRUE(glob_match("libc.so*", "libc.so.6"));
}

TEST(Glob, HasGlob) {
  EXPECT_TRUE(has_glob("ma*"));
  EXPECT_TRUE(has_glob("[ab]"));
  EXPECT_FALSE(has_glob("malloc"));
  EXPECT_FALSE(has_glob("a\\*"));
}

TEST(Strings, ParseInt) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("-0x10"), -16);
  EXPECT_EQ(parse_int("010"), 8);
  EXPECT_FALSE(parse_int("12x").has_value());
  EXPECT_FALSE(parse_int("").has_value());
  EXPECT_EQ(parse_uint("ff", 16), 255u);
  EXPECT_FALSE(parse_uint("-1").has_value());
}

TEST(Strings, SplitTrimJoin) {
  EXPECT_EQ(split("a:b::c", ':'), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(split_ws("  p:x  foo\tbar \n"), (std::vector<std::string>{"p:x", "foo", "bar"}));
  EXPECT_EQ(trim("  x y \n"), "x y");
  EXPECT_EQ(join({"a", "b"}, ", "), "a, b");
  EXPECT_EQ(hex(255), "0xff");
}

TEST(Strings, ClosestMatches) {
  std::vector<std::string> names = {"malloc", "calloc", "realloc", "free", "memcpy", "mallopt"};
  auto m = closest_matches("maloc", names);
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(m[0], "malloc");
  EXPECT_TRUE(closest_matches("zzzzzzzz", names).empty());
}

TEST(Strings, JsonQuote) {
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}
