#include "elf/elf_file.h"

#include <gtest/gtest.h>

#include <string>

namespace probekit::elf {
namespace {

TEST(Demangle, CxxNames) {
  EXPECT_EQ(demangle("_ZN2ns10overloadedEi"), "ns::overloaded(int)");
  EXPECT_EQ(demangle("_ZNK2ns6Widget4areaEv"), "ns::Widget::area() const");
  EXPECT_EQ(demangle("_Z5twiceIiET_S0_"), "int twice<int>(int)");
}

TEST(Demangle, LeavesOtherNamesAlone) {
  EXPECT_EQ(demangle("main"), "main");
  EXPECT_EQ(demangle("_Z"), "_Z");
  EXPECT_EQ(demangle("_Znot a mangled name"), "_Znot a mangled name");
  EXPECT_EQ(demangle("__libc_malloc"), "__libc_malloc");
}

TEST(StripParameters, Functions) {
  EXPECT_EQ(strip_parameters("ns::overloaded(int)"), "ns::overloaded");
  EXPECT_EQ(strip_parameters("ns::Widget::area() const"), "ns::Widget::area");
  EXPECT_EQ(strip_parameters("ns::Widget::operator()(int) const"), "ns::Widget::operator()");
  EXPECT_EQ(strip_parameters("int twice<int>(int)"), "twice<int>");
  EXPECT_EQ(strip_parameters("std::vector<int, std::allocator<int> > make<std::vector<int, std::allocator<int> > >()"),
            "make<std::vector<int, std::allocator<int> > >");
  EXPECT_EQ(strip_parameters("(anonymous namespace)::hidden_helper(int)"), "(anonymous namespace)::hidden_helper");
  EXPECT_EQ(strip_parameters("f(int) [clone .constprop.0]"), "f");
  EXPECT_EQ(strip_parameters("operator new(unsigned long)"), "operator new");
  EXPECT_EQ(strip_parameters("bool operator< <int>(A<int> const&, A<int> const&)"), "operator< <int>");
  EXPECT_EQ(strip_parameters("main::{lambda(int)#1}::operator()(int) const"), "main::{lambda(int)#1}::operator()");
}

TEST(StripParameters, NamesWithoutParameters) {
  EXPECT_EQ(strip_parameters("malloc"), "malloc");
  EXPECT_EQ(strip_parameters("(anonymous namespace)::counter"), "(anonymous namespace)::counter");
  EXPECT_EQ(strip_parameters(""), "");
}

TEST(Crc32, MatchesTheStandardCheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32(s.data(), s.size()), 0xcbf43926u);
  // Continuing a CRC over a split buffer gives the same value.
  EXPECT_EQ(crc32(s.data() + 4, 5, crc32(s.data(), 4)), 0xcbf43926u);
  EXPECT_EQ(crc32(nullptr, 0), 0u);
}

}  // namespace
}  // namespace probekit::elf
