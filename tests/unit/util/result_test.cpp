#include "util/result.h"

#include <gtest/gtest.h>

#include <cerrno>

using namespace probekit;

namespace {
Result<int> half(int x) {
  if (x % 2) return Error("odd", ErrorKind::usage);
  return x / 2;
}
Status chain(int x) {
  PK_TRY(half(x));
  return {};
}
}  // namespace

TEST(Result, ValueAndError) {
  auto a = half(4);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 2);
  auto b = half(3);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().kind(), ErrorKind::usage);
  EXPECT_TRUE(b.error().is_usage());
  EXPECT_TRUE(chain(2));
  EXPECT_FALSE(chain(1));
}

TEST(Result, FromErrno) {
  Error e = Error::from_errno("cannot open 'x'", ENOENT);
  EXPECT_EQ(e.message(), "cannot open 'x': No such file or directory");
  EXPECT_EQ(e.errnum(), ENOENT);
  EXPECT_FALSE(e.is_usage());
}
