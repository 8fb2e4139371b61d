// Tests of what stack walks read from DWARF: inlined subroutines at an
// address (ustack()'s inline frames) and the CFA rule of the call frame
// information (the innermost frame's caller), on pk_flame.c built -O2.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dwarf/call_frames.h"
#include "dwarf/debug_info.h"

namespace probekit::dwarf {
namespace {

const std::string kFlame = std::string(PK_DWARF_FIXTURES) + "/dwarf_fx_flame";

// Every distinct inline chain found in [fn.low_pc, fn.high_pc).
std::vector<std::vector<std::string>> chains_in(const DebugInfo& info, const Function& fn) {
  std::vector<std::vector<std::string>> out;
  for (uint64_t a = fn.low_pc; a < fn.high_pc; ++a) {
    auto c = info.inline_frames(a);
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

TEST(InlineFrames, InlinedCallsAreNamedWhereTheirCodeIs) {
  auto info = DebugInfo::open(kFlame);
  ASSERT_TRUE(info) << info.error().message();
  const Function* middle = (*info)->function("middle");
  const Function* leaf_a = (*info)->function("leaf_a");
  const Function* leaf_b = (*info)->function("leaf_b");
  ASSERT_TRUE(middle && leaf_a && leaf_b);
  // via() is inlined into middle, mix() into leaf_a; leaf_b inlines nothing.
  EXPECT_EQ(chains_in(**info, *middle), (std::vector<std::vector<std::string>>{{}, {"via"}}));
  auto in_a = chains_in(**info, *leaf_a);
  EXPECT_NE(std::find(in_a.begin(), in_a.end(), std::vector<std::string>{"mix"}), in_a.end());
  EXPECT_EQ(chains_in(**info, *leaf_b), (std::vector<std::vector<std::string>>{{}}));
  EXPECT_TRUE((*info)->inline_frames(middle->low_pc).empty());  // the prologue is middle's own
}

TEST(CallFrames, CfaRuleThroughThePrologue) {
  auto info = DebugInfo::open(kFlame);
  ASSERT_TRUE(info);
  auto frames = CallFrames::open(kFlame);
  ASSERT_TRUE(frames) << frames.error().message();
  const Function* middle = (*info)->function("middle");
  const Function* leaf_b = (*info)->function("leaf_b");
  ASSERT_TRUE(middle && leaf_b);
  auto at = [&](uint64_t a) {
    auto r = (*frames)->cfa_at(a);
    EXPECT_TRUE(r) << std::hex << a;
    return r ? std::make_pair(r->reg, r->offset) : std::make_pair(-1, int64_t{-1});
  };
  // middle: push rbp (1 byte); mov rbp, rsp (3 bytes). DWARF 7 rsp, 6 rbp.
  EXPECT_EQ(at(middle->low_pc), std::make_pair(7, int64_t{8}));
  EXPECT_EQ(at(middle->low_pc + 1), std::make_pair(7, int64_t{16}));
  EXPECT_EQ(at(middle->low_pc + 4), std::make_pair(6, int64_t{16}));
  // leaf_b sets up no frame at -O2: the return address stays at [rsp].
  EXPECT_EQ(at(leaf_b->low_pc), std::make_pair(7, int64_t{8}));
  EXPECT_EQ(at(leaf_b->high_pc - 1), std::make_pair(7, int64_t{8}));
}

TEST(CallFrames, AFileThatIsNotElfIsAnError) {
  auto frames = CallFrames::open(std::string(PK_DWARF_SOURCE_DIR) + "/CMakeLists.txt");
  ASSERT_FALSE(frames);
  EXPECT_NE(frames.error().message().find("is not an ELF object"), std::string::npos) << frames.error().message();
}

}  // namespace
}  // namespace probekit::dwarf
