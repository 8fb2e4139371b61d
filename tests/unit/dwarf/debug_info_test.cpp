#include "dwarf/debug_info.h"

#include <gtest/gtest.h>

#include <string>

namespace probekit::dwarf {
namespace {

const std::string kFx = PK_DWARF_FIXTURES;

TEST(DebugInfo, ObjectWithoutDwarfIsUnsupported) {
  auto d = DebugInfo::open(kFx + "/dwarf_fx_nodebug", "/nonexistent-debug-root");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind(), ErrorKind::unsupported);
  EXPECT_NE(d.error().message().find("has no debug information"), std::string::npos);
}

}  // namespace
}  // namespace probekit::dwarf
