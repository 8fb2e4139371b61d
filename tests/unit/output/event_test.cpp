#include "output/event.h"

#include <gtest/gtest.h>

#include "../trace/fake_hit_context.h"

using namespace probekit;
using namespace probekit::output;

namespace {

Event zfree() {
  Event e;
  e.group = "uprobes";
  e.name = "zfree_entry";
  e.comm = "";
  e.pid = 24842;
  e.tid = 24842;
  e.cpu = 6;
  e.timestamp_ns = 258544995456789;
  e.site = "0x446420";
  e.args = {{"arg1", "0x446420", "4481056"}, {"arg2", "79", "79"}};
  return e;
}

}  // namespace

TEST(TextFormat, KernelLayout) {
  EXPECT_EQ(format_text(zfree()),
            "           <...>-24842 [006] 258544.995456: zfree_entry: (0x446420) arg1=0x446420 arg2=79\n");
}

TEST(TextFormat, PaddingOfShortFields) {
  Event e;
  e.name = "p_malloc_0";
  e.comm = "worker";
  e.tid = 42;
  e.cpu = 0;
  e.timestamp_ns = 1500000;  // 0.0015 s
  e.site = "malloc+0x0";
  e.args = {{"size", "100", "100"}, {"s", "\"hi\"", "\"hi\""}};
  EXPECT_EQ(format_text(e), "          worker-42    [000]     0.001500: p_malloc_0: (malloc+0x0) size=100 s=\"hi\"\n");
  e.comm = "a-very-long-comm";  // 16 characters: no padding, never truncated
  e.tid = 1234567;
  e.cpu = 1234;
  e.args.clear();
  e.timestamp_ns = 123456789012345678;
  EXPECT_EQ(format_text(e), "a-very-long-comm-1234567 [1234] 123456789.012345: p_malloc_0: (malloc+0x0)\n");
}

TEST(TextFormat, ReturnProbe) {
  Event e;
  e.name = "r_malloc_0";
  e.comm = "worker";
  e.tid = 101;
  e.cpu = 3;
  e.timestamp_ns = 5000000000;
  e.is_return = true;
  e.site = "malloc+0x42";
  e.function = "malloc";
  e.caller = "main+0x1e";
  e.args = {{"arg1", "0x55d0c0", "5624000"}};
  EXPECT_EQ(format_text(e), "          worker-101   [003]     5.000000: r_malloc_0: (main+0x1e <- malloc) arg1=0x55d0c0\n");
  e.caller.clear();
  EXPECT_EQ(format_text(e), "          worker-101   [003]     5.000000: r_malloc_0: (? <- malloc) arg1=0x55d0c0\n");
}

TEST(JsonFormat, EventShape) {
  auto e = zfree();
  e.comm = "zsh \"x\"";
  e.args.push_back({"s", "\"a\"", "\"a\""});
  e.args.push_back({"bad", "(fault)", "null"});
  e.args.push_back({"empty", "", ""});
  EXPECT_EQ(format_json(e),
            "{\"type\":\"event\",\"data\":{\"event\":\"uprobes/zfree_entry\",\"comm\":\"zsh \\\"x\\\"\","
            "\"pid\":24842,\"tid\":24842,\"cpu\":6,\"timestamp\":258544995456789,\"site\":\"0x446420\","
            "\"args\":{\"arg1\":4481056,\"arg2\":79,\"s\":\"a\",\"bad\":null,\"empty\":null}}}\n");
}

TEST(JsonFormat, ReturnAndNoArgs) {
  Event e;
  e.group = "probekit";
  e.name = "r_f_0";
  e.comm = "t";
  e.pid = 1;
  e.tid = 2;
  e.cpu = 0;
  e.timestamp_ns = 7;
  e.is_return = true;
  e.site = "f+0x9";
  e.function = "f";
  e.caller = "main+0x1e";
  EXPECT_EQ(format_json(e),
            "{\"type\":\"event\",\"data\":{\"event\":\"probekit/r_f_0\",\"comm\":\"t\",\"pid\":1,\"tid\":2,"
            "\"cpu\":0,\"timestamp\":7,\"site\":\"f\",\"caller\":\"main+0x1e\",\"args\":{}}}\n");
  e.caller.clear();
  EXPECT_NE(format_json(e).find("\"caller\":null,"), std::string::npos);
}

TEST(Counts, TextTable) {
  std::vector<EventCount> c = {{"probekit/p_malloc_0", 123, 0}, {"probekit/r_malloc_0", 120, 3}};
  std::string pad44 = std::string(44 - 5, ' ');
  EXPECT_EQ(format_counts_text(c),
            "  EVENT" + pad44 + "            HITS          MISSED\n"
            "  probekit/p_malloc_0" + std::string(44 - 19, ' ') + "             123               0\n"
            "  probekit/r_malloc_0" + std::string(44 - 19, ' ') + "             120               3\n");
  std::string longname(50, 'e');
  EXPECT_EQ(format_counts_text({{longname, 1, 0}}),
            "  EVENT" + std::string(45, ' ') + "            HITS          MISSED\n"
            "  " + longname + "               1               0\n");
  EXPECT_EQ(format_counts_text({}), "  EVENT" + pad44 + "            HITS          MISSED\n");
}

TEST(Counts, JsonLines) {
  EXPECT_EQ(format_counts_json({{"probekit/p_malloc_0", 123, 0}, {"g/e", 5, 2}}),
            "{\"type\":\"count\",\"data\":{\"event\":\"probekit/p_malloc_0\",\"hits\":123,\"missed\":0}}\n"
            "{\"type\":\"count\",\"data\":{\"event\":\"g/e\",\"hits\":5,\"missed\":2}}\n");
  EXPECT_EQ(format_counts_json({}), "");
}

TEST(Errors, JsonLine) {
  EXPECT_EQ(format_error_json("no symbol 'mallc'; did you mean 'malloc'?"),
            "{\"type\":\"error\",\"data\":{\"msg\":\"no symbol 'mallc'; did you mean 'malloc'?\"}}\n");
  EXPECT_EQ(format_error_json("a\"b\n"), "{\"type\":\"error\",\"data\":{\"msg\":\"a\\\"b\\n\"}}\n");
}

TEST(Formatter, ChoosesByFormat) {
  EXPECT_EQ(parse_format("text"), Format::text);
  EXPECT_EQ(parse_format("json"), Format::json);
  EXPECT_FALSE(parse_format("xml"));
  Formatter t(Format::text), j(Format::json);
  EXPECT_EQ(t.event(zfree()), format_text(zfree()));
  EXPECT_EQ(j.event(zfree()), format_json(zfree()));
  std::vector<EventCount> c = {{"g/e", 1, 0}};
  EXPECT_EQ(t.counts(c), format_counts_text(c));
  EXPECT_EQ(j.counts(c), format_counts_json(c));
}

TEST(MakeEvent, FromHitContext) {
  probekit::testing::FakeHitContext ctx;
  ctx.site_.address = 0x401134;
  ctx.site_.symbol = "work";
  ctx.site_.symbol_address = 0x401130;
  ctx.site_.offset = 4;
  ctx.symbols = {{"main", 0x401100}};
  auto e = make_event(ctx, "probekit", "p_work_4");
  EXPECT_EQ(e.group, "probekit");
  EXPECT_EQ(e.name, "p_work_4");
  EXPECT_EQ(e.comm, "worker");
  EXPECT_EQ(e.pid, 100);
  EXPECT_EQ(e.tid, 101);
  EXPECT_EQ(e.cpu, 3);
  EXPECT_EQ(e.timestamp_ns, 258544995456789u);
  EXPECT_EQ(e.site, "work+0x4");
  EXPECT_FALSE(e.is_return);
  EXPECT_EQ(format_text(e), "          worker-101   [003] 258544.995456: p_work_4: (work+0x4)\n");

  auto r = make_event(ctx, "probekit", "r_work_0", true, 0x40111e);
  EXPECT_TRUE(r.is_return);
  EXPECT_EQ(r.function, "work");
  EXPECT_EQ(r.caller, "main+0x1e");

  ctx.site_.symbol.clear();
  auto bare = make_event(ctx, "probekit", "p_0x401134");
  EXPECT_EQ(bare.site, "0x401134");
  EXPECT_EQ(make_event(ctx, "g", "r", true).function, "0x401130");
}
