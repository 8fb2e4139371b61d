#include "util/fd.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <string>

namespace probekit {
namespace {

// The command may hold blanks and parentheses: the fields are counted
// after its last ')', so [0] is field 3 (the state) and [1] field 4 (ppid).
TEST(ReadStatFields, CountsFromTheLastParenthesis) {
  char old_name[17] = {};
  ASSERT_EQ(prctl(PR_GET_NAME, old_name), 0);
  ASSERT_EQ(prctl(PR_SET_NAME, "a b) (c"), 0);
  auto fields = read_stat_fields("/proc/self/stat");
  prctl(PR_SET_NAME, old_name);
  ASSERT_GT(fields.size(), 36u);
  EXPECT_EQ(fields[0], "R");
  EXPECT_EQ(fields[1], std::to_string(getppid()));
}

TEST(ReadStatFields, EmptyWhenTheFileCannotBeRead) {
  EXPECT_TRUE(read_stat_fields("/proc/self/no-such-file").empty());
}

}  // namespace
}  // namespace probekit
