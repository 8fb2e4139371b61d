// Tests of output/chrome: calls nest per thread as complete events written
// at their return, byte for byte.
#include "output/chrome.h"

#include <gtest/gtest.h>

#include "output/event.h"

namespace probekit::output {
namespace {

TEST(ChromeTrace, NestedCallsBecomeCompleteEventsAtTheirReturn) {
  ChromeTrace t;
  std::string out = t.begin();
  out += t.enter(7, 8, "prog", "outer", "a.out", 1000);
  out += t.enter(7, 8, "prog", "inner", "a.out", 2500);
  EXPECT_EQ(t.leave(7, 9, "prog", "inner", 2600), "");  // another thread: nothing open there
  out += t.leave(7, 8, "prog", "inner", 3000);
  out += t.leave(7, 8, "prog", "outer", 10'000'001);
  out += t.end();
  EXPECT_EQ(out,
            "{\"traceEvents\":[\n"
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":7,\"tid\":8,\"args\":{\"name\":\"prog\"}},\n"
            "{\"name\":\"inner\",\"cat\":\"a.out\",\"ph\":\"X\",\"ts\":2.500,\"dur\":0.500,\"pid\":7,\"tid\":8},\n"
            "{\"name\":\"outer\",\"cat\":\"a.out\",\"ph\":\"X\",\"ts\":1.000,\"dur\":9999.001,\"pid\":7,\"tid\":8}\n"
            "],\"displayTimeUnit\":\"ns\"}\n");
}

TEST(ChromeTrace, AReturnClosesCallsWhoseReturnWasNotSeen) {
  ChromeTrace t;
  (void)t.begin();
  std::string out = t.enter(1, 1, "p", "a", "m", 1000);
  out += t.enter(1, 1, "p", "b", "m", 2000);  // longjmp'ed out of: no return
  out += t.leave(1, 1, "p", "a", 5000);
  EXPECT_EQ(out,
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"p\"}},\n"
            "{\"name\":\"b\",\"cat\":\"m\",\"ph\":\"X\",\"ts\":2.000,\"dur\":3.000,\"pid\":1,\"tid\":1,"
            "\"args\":{\"unfinished\":true}},\n"
            "{\"name\":\"a\",\"cat\":\"m\",\"ph\":\"X\",\"ts\":1.000,\"dur\":4.000,\"pid\":1,\"tid\":1}");
}

TEST(ChromeTrace, OpenCallsEndAtTheLastTimestamp) {
  ChromeTrace t;
  (void)t.begin();
  std::string out = t.enter(1, 2, "p", "main", "a.out", 1000);
  out += t.instant(1, 2, "p", "tick", "profile", 4000, {{"n", "3"}, {"s", "\"x\""}});
  out += t.end();
  EXPECT_EQ(out,
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"p\"}},\n"
            "{\"name\":\"tick\",\"cat\":\"profile\",\"ph\":\"i\",\"s\":\"t\",\"ts\":4.000,\"pid\":1,\"tid\":2,"
            "\"args\":{\"n\":3,\"s\":\"x\"}},\n"
            "{\"name\":\"main\",\"cat\":\"a.out\",\"ph\":\"X\",\"ts\":1.000,\"dur\":3.000,\"pid\":1,\"tid\":2,"
            "\"args\":{\"unfinished\":true}}\n"
            "],\"displayTimeUnit\":\"ns\"}\n");
}

TEST(ChromeTrace, TraceEventsAreInstantsWithTheirFields) {
  Formatter f(Format::chrome);
  Event e;
  e.group = "probekit";
  e.name = "p_malloc_0";
  e.comm = "srv";
  e.pid = 5;
  e.tid = 6;
  e.timestamp_ns = 1'234'567;
  e.site = "malloc+0x0";
  e.args = {{"size", "0x10", "16"}};
  EXPECT_EQ(f.header(), "{\"traceEvents\":[\n");
  EXPECT_EQ(f.event(e),
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":5,\"tid\":6,\"args\":{\"name\":\"srv\"}},\n"
            "{\"name\":\"p_malloc_0\",\"cat\":\"probekit\",\"ph\":\"i\",\"s\":\"t\",\"ts\":1234.567,\"pid\":5,"
            "\"tid\":6,\"args\":{\"site\":\"malloc+0x0\",\"size\":16}}");
  EXPECT_EQ(f.footer(), "\n],\"displayTimeUnit\":\"ns\"}\n");
  EXPECT_EQ(parse_format("chrome"), Format::chrome);
}

}  // namespace
}  // namespace probekit::output
