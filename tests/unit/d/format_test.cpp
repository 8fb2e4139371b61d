// Tests of d/format: printf conversions with flags, widths and DTrace's
// integer-width rules, the compile-time check, and printa.
#include "d/format.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace probekit::d {
namespace {

std::string fmt(std::string_view f, std::vector<Value> args) {
  auto r = format(f, args);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : "<error>";
}

Value i4(int64_t v) { return Value::integer(v, 4); }
Value i8(int64_t v) { return Value::integer(v, 8); }
Value str(std::string s) { return Value::string(std::move(s)); }
Value sym(uint64_t addr, std::string text) {
  Value v;
  v.kind = Value::Kind::symbol;
  v.i = static_cast<int64_t>(addr);
  v.s = std::move(text);
  return v;
}

// --- printf ----------------------------------------------------------------------

TEST(Format, PlainTextAndPercent) {
  EXPECT_EQ(fmt("hello\n", {}), "hello\n");
  EXPECT_EQ(fmt("100%%", {}), "100%");
  EXPECT_EQ(fmt("", {}), "");
}

// %Y and %T take nanoseconds since the epoch, shown in local time (here
// UTC): %Y as dtrace's pfprint_time ("YEAR Mon DD HH:MM:SS" from ctime),
// %T as RFC 822 (pfprint_time822), each through the conversion's width.
TEST(Format, TimeConversionsShowNanosecondsSinceTheEpoch) {
  const char* old_tz = std::getenv("TZ");
  const std::string saved = old_tz ? old_tz : "";
  setenv("TZ", "UTC", 1);
  tzset();
  const Value jan_2004 = Value::integer(1072915200LL * 1000000000LL + 5, 8);  // 2004-01-01 00:00:00 UTC
  EXPECT_EQ(fmt("%Y", {jan_2004}), "2004 Jan  1 00:00:00");
  EXPECT_EQ(fmt("[%22Y]", {jan_2004}), "[  2004 Jan  1 00:00:00]");
  EXPECT_EQ(fmt("%T", {jan_2004}), "Thu, 01 Jan 2004 00:00:00 UTC");
  if (old_tz) setenv("TZ", saved.c_str(), 1);
  else unsetenv("TZ");
  tzset();
}

TEST(Format, SignedDecimalWithFlagsAndWidths) {
  EXPECT_EQ(fmt("%d %i", {i4(42), i4(-7)}), "42 -7");
  EXPECT_EQ(fmt("[%5d][%-5d][%05d][%+d][% d]", {i4(42), i4(42), i4(42), i4(42), i4(42)}),
            "[   42][42   ][00042][+42][ 42]");
  EXPECT_EQ(fmt("[%8.3d]", {i4(5)}), "[     005]");
}

TEST(Format, UnsignedHexOctal) {
  EXPECT_EQ(fmt("%u %x %X %#x %o %#o", {i4(255), i4(255), i4(255), i4(255), i4(255), i4(255)}),
            "255 ff FF 0xff 377 0377");
}

TEST(Format, IntegersAreReadAtTheirOwnWidth) {
  EXPECT_EQ(fmt("%x", {i4(-1)}), "ffffffff");
  EXPECT_EQ(fmt("%x", {i8(-1)}), "ffffffffffffffff");
  EXPECT_EQ(fmt("%u", {i4(-1)}), "4294967295");
  // %d of an unsigned value is %u (dtrace's pfcheck_dint), at any width.
  EXPECT_EQ(fmt("%d", {Value::unsigned_integer(0xffffffffu, 4)}), "4294967295");
  EXPECT_EQ(fmt("%d", {Value::unsigned_integer(0xffffffffu, 8)}), "4294967295");
  EXPECT_EQ(fmt("%u", {Value::integer(-1, 1)}), "255");
  EXPECT_EQ(fmt("%d", {Value::integer(-1, 2)}), "-1");
  // Narrow unsigned values promote to a non-negative int, as in C and DTrace.
  EXPECT_EQ(fmt("%d", {Value::unsigned_integer(255, 1)}), "255");
  EXPECT_EQ(fmt("%i", {Value::unsigned_integer(0xffff, 2)}), "65535");
  EXPECT_EQ(fmt("[%5d]", {Value::unsigned_integer(200, 1)}), "[  200]");
  // With a length modifier the value is read at that width, signed.
  EXPECT_EQ(fmt("%hhd", {Value::unsigned_integer(255, 1)}), "-1");
}

TEST(Format, LengthModifiersNarrowTheValue) {
  EXPECT_EQ(fmt("%hhd", {i4(300)}), "44");
  EXPECT_EQ(fmt("%hx", {i8(-1)}), "ffff");
  // Widening converts as C does: a signed value sign-extends, an unsigned one doesn't.
  EXPECT_EQ(fmt("%lx", {i4(-1)}), "ffffffffffffffff");
  EXPECT_EQ(fmt("%lx", {Value::unsigned_integer(0xffffffffu, 4)}), "ffffffff");
  EXPECT_EQ(fmt("%lld %ld %zd %jd %td %llu", {i8(-5), i8(-5), i8(-5), i8(-5), i8(-5), i8(7)}),
            "-5 -5 -5 -5 -5 7");
}

TEST(Format, Char) {
  EXPECT_EQ(fmt("%c%c", {i4('o'), i4('k')}), "ok");
  EXPECT_EQ(fmt("[%3c][%-3c]", {i4('A'), i4('B')}), "[  A][B  ]");
}

TEST(Format, Strings) {
  EXPECT_EQ(fmt("%s|%10s|%-10s|%.3s", {str("hello"), str("hello"), str("hello"), str("hello")}),
            "hello|     hello|hello     |hel");
}

TEST(Format, StarWidthAndPrecision) {
  EXPECT_EQ(fmt("[%*d]", {i4(8), i4(42)}), "[      42]");
  EXPECT_EQ(fmt("[%-*d]", {i4(6), i4(42)}), "[42    ]");
  EXPECT_EQ(fmt("[%*d]", {i4(-6), i4(42)}), "[42    ]");  // negative width: left
  EXPECT_EQ(fmt("[%.*s]", {i4(2), str("hello")}), "[he]");
  EXPECT_EQ(fmt("[%*.*s]", {i4(5), i4(2), str("hello")}), "[   he]");
}

TEST(Format, ZeroPrecisionIsIgnoredAsInDtrace) {
  EXPECT_EQ(fmt("[%.0d]", {i4(0)}), "[0]");
}

TEST(Format, PointerIsHexWithoutPrefix) {
  EXPECT_EQ(fmt("%p", {Value::unsigned_integer(0x7fff1234)}), "7fff1234");
  EXPECT_EQ(fmt("%#p", {Value::unsigned_integer(0x10)}), "0x10");
  EXPECT_EQ(fmt("[%12p]", {Value::unsigned_integer(0xabc)}), "[         abc]");
}

TEST(Format, SymbolConversions) {
  EXPECT_EQ(fmt("%a", {sym(0x401010, "a.out`main+0x10")}), "a.out`main+0x10");
  EXPECT_EQ(fmt("[%-20A]", {sym(0x401000, "a.out`main")}), "[a.out`main          ]");
  EXPECT_EQ(fmt("%a", {Value::unsigned_integer(0x1000)}), "0x1000");
  EXPECT_EQ(fmt("%s", {sym(0x401000, "a.out`main")}), "a.out`main");
}

TEST(Format, EscapedString) {
  EXPECT_EQ(fmt("%S", {str("a\tb\n\x01\"\\z")}), "a\\tb\\n\\001\\\"\\\\z");
  EXPECT_EQ(escape_string("\a\b\f\r\v"), "\\a\\b\\f\\r\\v");
  EXPECT_EQ(escape_string(std::string("\xff", 1)), "\\377");
}

TEST(Format, FloatingConversionsOfIntegers) {
  EXPECT_EQ(fmt("%e %E %f %g %G", {i4(1234), i4(1234), i4(1234), i4(1234), i4(1234)}),
            "1.234000e+03 1.234000E+03 1234.000000 1234 1234");
  EXPECT_EQ(fmt("%.2f", {i4(3)}), "3.00");
  EXPECT_EQ(fmt("%.1f", {Value::unsigned_integer(18446744073709551615ull)}),
            "18446744073709551616.0");
}

TEST(Format, RuntimeErrors) {
  EXPECT_FALSE(format("%q", {}).ok());
  EXPECT_FALSE(format("%", {}).ok());
  std::vector<Value> one_int{i4(1)};
  EXPECT_FALSE(format("%s", one_int).ok());
  EXPECT_FALSE(format("%d %d", one_int).ok());
  EXPECT_FALSE(format("%@d", one_int).ok());
}

// --- check_format ------------------------------------------------------------------

ArgType ti(uint8_t size = 4) { return ArgType{Value::Kind::integer, size, true}; }
ArgType ts() { return ArgType{Value::Kind::string, 0, false}; }

TEST(CheckFormat, GoodCallsHaveNoIssues) {
  std::vector<ArgType> args{ti(), ts(), ti(8)};
  EXPECT_TRUE(check_format("%d %s %llx\n", args).empty());
  std::vector<ArgType> star{ti(), ti(), ts()};
  EXPECT_TRUE(check_format("%*.*s", star).empty());
  EXPECT_TRUE(check_format("no conversions %%\n", {}).empty());
}

TEST(CheckFormat, StringConversionOfAnInteger) {
  std::vector<ArgType> args{ti()};
  auto issues = check_format("x=%s\n", args);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].id, "D_PRINTF_ARG_TYPE");
  EXPECT_EQ(issues[0].offset, 2u);
  EXPECT_EQ(issues[0].length, 2u);
  EXPECT_EQ(issues[0].arg, 0);
  EXPECT_EQ(issues[0].message,
            "argument #2 is an integer, which conversion #1 \"%s\" cannot print; use \"%d\" for "
            "an integer");
}

TEST(CheckFormat, IntegerConversionOfAString) {
  std::vector<ArgType> args{ts()};
  auto issues = check_format("%-8d", args);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].id, "D_PRINTF_ARG_TYPE");
  EXPECT_EQ(issues[0].length, 4u);
}

TEST(CheckFormat, MissingAndExtraArguments) {
  std::vector<ArgType> one{ti()};
  auto missing = check_format("%d %d", one);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].id, "D_PRINTF_ARG_PROTO");
  EXPECT_EQ(missing[0].offset, 3u);
  std::vector<ArgType> two{ti(), ti()};
  auto extra = check_format("%d", two);
  ASSERT_EQ(extra.size(), 1u);
  EXPECT_EQ(extra[0].id, "D_PRINTF_ARG_EXTRA");
  EXPECT_EQ(extra[0].arg, 1);
}

TEST(CheckFormat, StarArguments) {
  std::vector<ArgType> args{ts(), ti()};
  auto issues = check_format("%*d", args);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].id, "D_PRINTF_DYN_TYPE");
  auto none = check_format("%*d", {});
  ASSERT_EQ(none.size(), 2u);
  EXPECT_EQ(none[0].id, "D_PRINTF_DYN_PROTO");
  EXPECT_EQ(none[1].id, "D_PRINTF_ARG_PROTO");
}

// dt_printf_create() fails a format it cannot parse as a compile error
// with no tag of its own: dtrace reports it as D_SYNTAX.
TEST(CheckFormat, MalformedConversions) {
  auto bad = check_format("ab %y", {});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].id, "D_SYNTAX");
  EXPECT_EQ(bad[0].offset, 3u);
  auto end = check_format("50%", {});
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].id, "D_SYNTAX");
  EXPECT_EQ(end[0].offset, 2u);
}

TEST(CheckFormat, AggregationConversionOutsidePrinta) {
  std::vector<ArgType> args{ti()};
  auto issues = check_format("%@d", args);
  ASSERT_GE(issues.size(), 1u);
  EXPECT_EQ(issues[0].id, "D_PRINTF_AGG_CONV");
}

TEST(CheckFormat, CollectsEveryIssue) {
  std::vector<ArgType> args{ti(), ti()};
  auto issues = check_format("%s %s", args);
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].offset, 0u);
  EXPECT_EQ(issues[1].offset, 3u);
  EXPECT_EQ(issues[1].arg, 1);
}

TEST(CheckPrintaFormat, KeysAndAggregations) {
  std::vector<ArgType> keys{ts(), ti()};
  EXPECT_TRUE(check_printa_format("%s %d %@d\n", keys, 1).empty());
  EXPECT_TRUE(check_printa_format("%s\n", keys, 1).empty());
  auto type = check_printa_format("%d %d %@d", keys, 1);
  ASSERT_EQ(type.size(), 1u);
  EXPECT_EQ(type[0].id, "D_PRINTF_ARG_TYPE");
  auto proto = check_printa_format("%s %d %d %@d", keys, 1);
  ASSERT_EQ(proto.size(), 1u);
  EXPECT_EQ(proto[0].id, "D_PRINTF_ARG_PROTO");
  EXPECT_EQ(proto[0].offset, 6u);
  auto aggtype = check_printa_format("%s %d %@s", keys, 1);
  ASSERT_EQ(aggtype.size(), 1u);
  EXPECT_EQ(aggtype[0].id, "D_PRINTF_ARG_TYPE");
  auto noagg = check_printa_format("%@d", {}, 0);
  ASSERT_EQ(noagg.size(), 1u);
  EXPECT_EQ(noagg[0].id, "D_PRINTF_AGG_CONV");
}

// --- printa ------------------------------------------------------------------------

Aggregation agg(AggFunc f, std::string name = "a", AggParams p = {}) {
  auto a = Aggregation::make(std::move(name), f, p);
  EXPECT_TRUE(a.ok());
  return std::move(a).value();
}

std::string pa(std::string_view f, std::vector<const Aggregation*> aggs) {
  auto r = printa(f, aggs);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : "<error>";
}

TEST(Printa, FormatPerKeyInValueOrder) {
  Aggregation a = agg(AggFunc::count);
  for (int i = 0; i < 3; i++) a.add(Key{str("read")});
  a.add(Key{str("open")});
  EXPECT_EQ(pa("%-8s %@5d\n", {&a}), "open         1\nread         3\n");
}

TEST(Printa, ValueConversions) {
  Aggregation a = agg(AggFunc::sum);
  a.add(Key{i4(1)}, 255);
  EXPECT_EQ(pa("%d:%@x:%@u:%@08d\n", {&a}), "1:ff:255:00000255\n");
}

TEST(Printa, KeysOnlyWithoutAnAggregationConversion) {
  Aggregation a = agg(AggFunc::count);
  a.add(Key{str("b")});
  a.add(Key{str("a")});
  EXPECT_EQ(pa("%s\n", {&a}), "a\nb\n");
}

TEST(Printa, SeveralAggregationsJoinedOnKeys) {
  Aggregation c = agg(AggFunc::count, "c");
  Aggregation s = agg(AggFunc::sum, "s");
  c.add(Key{str("x")});
  c.add(Key{str("x")});
  s.add(Key{str("x")}, 40);
  s.add(Key{str("y")}, 5);
  // y has no count: 0. Sorted by the first aggregation's value.
  EXPECT_EQ(pa("%s %@d %@d\n", {&c, &s}), "y 0 5\nx 2 40\n");
  // Conversions beyond the aggregations repeat the last one.
  EXPECT_EQ(pa("%s %@d %@d %@d\n", {&c, &s}), "y 0 5 5\nx 2 40 40\n");
}

TEST(Printa, AvgStddevAndNormalization) {
  Aggregation avg = agg(AggFunc::avg);
  avg.add({}, 10);
  avg.add({}, 21);
  EXPECT_EQ(pa("avg=%@d\n", {&avg}), "avg=15\n");
  Aggregation sd = agg(AggFunc::stddev);
  for (int64_t v : {2, 4, 4, 4, 5, 5, 7, 9}) sd.add({}, v);
  EXPECT_EQ(pa("sd=%@u\n", {&sd}), "sd=2\n");
  Aggregation sum = agg(AggFunc::sum);
  sum.add({}, 5000);
  sum.normalize(1000);
  EXPECT_EQ(pa("%@d s\n", {&sum}), "5 s\n");
}

TEST(Printa, DistributionPrintsTheBlock) {
  Aggregation q = agg(AggFunc::quantize);
  q.add(Key{str("f")}, 1);
  EXPECT_EQ(pa("%s%@d\n", {&q}),
            "f\n"
            "           value  ------------- Distribution ------------- count    \n"
            "               0 |                                         0        \n"
            "               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 1        \n"
            "               2 |                                         0        \n"
            "\n");
}

TEST(Printa, StarWidthFromAKey) {
  Aggregation a = agg(AggFunc::count);
  a.add(Key{i4(6), str("ab")});
  EXPECT_EQ(pa("[%*s] %@d\n", {&a}), "[    ab] 1\n");
}

TEST(Printa, Errors) {
  Aggregation a = agg(AggFunc::count);
  a.add(Key{str("k")});
  std::vector<const Aggregation*> aggs{&a};
  EXPECT_FALSE(printa("%s %s", aggs).ok());
  EXPECT_FALSE(printa("%d", aggs).ok());
  EXPECT_FALSE(printa("%s", {}).ok());
}

}  // namespace
}  // namespace probekit::d
