// Tests of d/aggregation's exports: folded stacks (flame graphs) and the
// OpenMetrics text of -x metrics=, byte for byte.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "d/aggregation.h"

namespace probekit::d {
namespace {

Aggregation agg(AggFunc f, std::string name = "a", AggParams p = {}) {
  auto a = Aggregation::make(std::move(name), f, p);
  EXPECT_TRUE(a) << a.error().message();
  return std::move(*a);
}

Value stack(std::string frames) {
  Value v;
  v.kind = Value::Kind::stack;
  v.s = std::move(frames);
  return v;
}

// --- folded ----------------------------------------------------------------------

TEST(Folded, StacksRootFirstOffsetsDroppedAndMerged) {
  Aggregation a = agg(AggFunc::count);
  // Two samples at different offsets of leaf_a merge into one line.
  a.add(Key{stack("a.out`leaf_a+0x1a\na.out`middle+0x9\na.out`main+0x30")});
  a.add(Key{stack("a.out`leaf_a+0x22\na.out`middle+0x9\na.out`main+0x30")});
  a.add(Key{stack("a.out`leaf_b\na.out`via [inlined]\na.out`middle+0x19\na.out`main+0x30")});
  EXPECT_EQ(a.folded(),
            "a.out`main;a.out`middle;a.out`leaf_a 2\n"
            "a.out`main;a.out`middle;a.out`via_[i];a.out`leaf_b 1\n");
}

TEST(Folded, OtherKeyPartsAreFramesAndSeparatorsAreReplaced) {
  Aggregation a = agg(AggFunc::sum);
  a.add(Key{Value::string("my;prog"), stack("libc.so.6`write+0x14\na.out`main+0x20"), Value::integer(7)}, 40);
  a.add(Key{Value::string("other"), stack("0x7f0012345678")}, 0);  // a value of 0 has no width
  EXPECT_EQ(a.folded(), "my:prog;a.out`main;libc.so.6`write;7 40\n");
}

TEST(Folded, KeylessAndDistributions) {
  Aggregation c = agg(AggFunc::count, "calls");
  c.add({});
  c.add({});
  EXPECT_EQ(c.folded(), "@calls 2\n");
  Aggregation q = agg(AggFunc::quantize);
  for (int v : {1, 2, 3, 1000}) q.add(Key{Value::string("work")}, v);
  EXPECT_EQ(q.folded(), "work 4\n");  // the number of values
}

TEST(Folded, OperatorPlusIsNotAnOffset) {
  Aggregation a = agg(AggFunc::count);
  a.add(Key{stack("a.out`operator+\na.out`main+0x10")});
  EXPECT_EQ(a.folded(), "a.out`main;a.out`operator+ 1\n");
}

// --- OpenMetrics -----------------------------------------------------------------

TEST(OpenMetrics, CountersGaugesAndLabels) {
  Aggregation calls = agg(AggFunc::count, "calls");
  calls.add(Key{Value::string("read"), Value::integer(3)});
  calls.add(Key{Value::string("read"), Value::integer(3)});
  calls.add(Key{Value::string("say \"x\"\n"), Value::integer(-1)});
  Aggregation anon = agg(AggFunc::max, "");
  anon.add({}, 42);
  std::vector<const Aggregation*> list = {&calls, &anon};
  EXPECT_EQ(openmetrics(list),
            "# TYPE probekit_calls counter\n"
            "# HELP probekit_calls @calls = count()\n"
            "probekit_calls_total{key0=\"say \\\"x\\\"\\n\",key1=\"-1\"} 1\n"
            "probekit_calls_total{key0=\"read\",key1=\"3\"} 2\n"
            "# TYPE probekit_agg gauge\n"
            "# HELP probekit_agg @ = max()\n"
            "probekit_agg 42\n"
            "# EOF\n");
}

TEST(OpenMetrics, QuantizeIsAHistogramOverTheFilledBuckets) {
  Aggregation q = agg(AggFunc::quantize, "lat");
  q.add(Key{Value::string("a")}, 1);
  q.add(Key{Value::string("a")}, 5);
  q.add(Key{Value::string("a")}, 6);
  q.add(Key{Value::string("b")}, 2);
  std::vector<const Aggregation*> list = {&q};
  // Buckets 1, [2,3], [4,7]: upper bounds 1, 3, 7.
  EXPECT_EQ(openmetrics(list),
            "# TYPE probekit_lat histogram\n"
            "# HELP probekit_lat @lat = quantize()\n"
            "probekit_lat_bucket{key0=\"b\",le=\"1\"} 0\n"
            "probekit_lat_bucket{key0=\"b\",le=\"3\"} 1\n"
            "probekit_lat_bucket{key0=\"b\",le=\"7\"} 1\n"
            "probekit_lat_bucket{key0=\"b\",le=\"+Inf\"} 1\n"
            "probekit_lat_count{key0=\"b\"} 1\n"
            "probekit_lat_bucket{key0=\"a\",le=\"1\"} 1\n"
            "probekit_lat_bucket{key0=\"a\",le=\"3\"} 1\n"
            "probekit_lat_bucket{key0=\"a\",le=\"7\"} 3\n"
            "probekit_lat_bucket{key0=\"a\",le=\"+Inf\"} 3\n"
            "probekit_lat_count{key0=\"a\"} 3\n"
            "# EOF\n");
}

TEST(OpenMetrics, LquantizeShowsEveryBucket) {
  AggParams p;
  p.lo = 0;
  p.hi = 20;
  p.step = 10;
  Aggregation l = agg(AggFunc::lquantize, "l", p);
  l.add({}, -5);
  l.add({}, 15);
  l.add({}, 99);
  std::vector<const Aggregation*> list = {&l};
  EXPECT_EQ(openmetrics(list),
            "# TYPE probekit_l histogram\n"
            "# HELP probekit_l @l = lquantize()\n"
            "probekit_l_bucket{le=\"-1\"} 1\n"
            "probekit_l_bucket{le=\"9\"} 1\n"
            "probekit_l_bucket{le=\"19\"} 2\n"
            "probekit_l_bucket{le=\"+Inf\"} 3\n"
            "probekit_l_count 3\n"
            "# EOF\n");
}

}  // namespace
}  // namespace probekit::d
