// Robustness: random and mutated definitions never crash the parser, and
// whatever it accepts evaluates without crashing against a fake target.
#include <gtest/gtest.h>

#include <random>

#include "fake_hit_context.h"
#include "trace/definition.h"
#include "trace/fetch.h"

using namespace probekit;
using namespace probekit::trace;

namespace {

const char* const kSeeds[] = {
    "p:grp/ev libc.so.6:malloc+0x10 size=%di:u64 s=+0(%si):string",
    "r16:ev a.out:ns::f+0 $retval:s32 $comm",
    "p f +0(+8(+0x10(%si))):b4@3/32 @counter-8:x16 $stack3 $arg7 \\\"a b\" \\-1",
    "p 0x401000 $arg:buf:string x=@0x601040:symbol",
};

}  // namespace

TEST(DefinitionFuzz, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  const std::string alphabet = "pr:/+-%@$\\\"()=0123456789abcdefxsu_ ltrgmkcnv.\t\x01\xff";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<size_t> length(0, 60);
  probekit::testing::FakeHitContext ctx;
  ctx.map(0, std::vector<uint8_t>(64, 0x41));
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    size_t n = length(rng);
    for (size_t k = 0; k < n; ++k) s += alphabet[pick(rng)];
    std::vector<Error> errors;
    auto d = parse_definition(s, {}, &errors);
    if (d) {
      ++accepted;
      EXPECT_TRUE(errors.empty());
      for (const auto& a : d->args) (void)fetch(a, ctx);
    } else {
      ASSERT_FALSE(errors.empty()) << s;
      for (const auto& e : errors) {
        ASSERT_TRUE(e.range().has_value()) << s;
        EXPECT_GE(e.range()->column, 1) << s;
        EXPECT_LE(e.range()->column, static_cast<int>(s.size()) + 1) << s;
      }
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST(DefinitionFuzz, MutatedValidDefinitionsNeverCrash) {
  std::mt19937 rng(777);
  probekit::testing::FakeHitContext ctx;
  ctx.map(0, std::vector<uint8_t>(64, 0x41));
  ctx.symbols = {{"counter", 8}};
  for (const char* seed : kSeeds) {
    ASSERT_TRUE(parse_definition(seed).ok()) << seed;
    for (int i = 0; i < 5000; ++i) {
      std::string s = seed;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t at = rng() % s.size();
        switch (rng() % 3) {
        case 0: s.erase(at, 1); break;
        case 1: s.insert(at, 1, static_cast<char>(rng() % 128)); break;
        default: s[at] = static_cast<char>(rng() % 256); break;
        }
      }
      std::vector<Error> errors;
      auto d = parse_definition(s, {}, &errors);
      if (!d) {
        ASSERT_FALSE(errors.empty());
        for (const auto& err : errors) EXPECT_LE(err.range()->column, static_cast<int>(s.size()) + 1) << s;
        continue;
      }
      for (const auto& a : d->args) {
        auto v = fetch(a, ctx);
        if (v) (void)v->text(), (void)v->json();
      }
    }
  }
}
