// Tests of d/aggregation: exact DTrace text for every aggregating function,
// ordering, clear/trunc/normalize, joined printing and JSON.
//
// The llquantize expectations are dtrace-utils' own test output
// (test/unittest/aggs/tst.llquantize_basic.r, printa's leading blank line
// removed); the quantize/lquantize ones were generated from the format
// strings of dt_consume.c by an independent script.
#include "d/aggregation.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace probekit::d {
namespace {

// --- expected output --------------------------------------------------------

const char* const kBasicA =
    R"DT(
           value  ------------- Distribution ------------- count    
          <= -16 |@@@                                      164      
              -8 |@@@                                      180      
              -4 |@@@@@                                    285      
              -2 |@@@@                                     195      
              -1 |@@                                       99       
               0 |@@                                       100      
               1 |@@                                       101      
               2 |@@@@                                     205      
               4 |@@@@@@                                   315      
               8 |@@@@                                     220      
           >= 16 |@@@@                                     236      

)DT";
const char* const kBasicB =
    R"DT(
           value  ------------- Distribution ------------- count    
          <= -16 |@@@                                      164      
             -12 |@@                                       88       
              -8 |@@                                       92       
              -4 |@@@@@                                    285      
              -3 |@@                                       97       
              -2 |@@                                       98       
              -1 |@@                                       99       
               0 |@@                                       100      
               1 |@@                                       101      
               2 |@@                                       102      
               3 |@@                                       103      
               4 |@@@@@@                                   315      
               8 |@@                                       108      
              12 |@@                                       112      
           >= 16 |@@@@                                     236      

)DT";
const char* const kBasicC =
    R"DT(
           value  ------------- Distribution ------------- count    
          <= -16 |@@@                                      164      
             -14 |                                         0        
             -12 |@@                                       88       
             -10 |                                         0        
              -8 |@@                                       92       
              -6 |@@                                       94       
              -4 |@@@@                                     191      
              -3 |@@                                       97       
              -2 |@@                                       98       
              -1 |@@                                       99       
               0 |@@                                       100      
               1 |@@                                       101      
               2 |@@                                       102      
               3 |@@                                       103      
               4 |@@@@                                     209      
               6 |@@                                       106      
               8 |@@                                       108      
              10 |                                         0        
              12 |@@                                       112      
              14 |                                         0        
           >= 16 |@@@@                                     236      

)DT";
const char* const kZero =
    R"DT(
           value  ------------- Distribution ------------- count    
               0 |                                         0        
               1 |                                         0        
               2 |                                         0        

)DT";
const char* const kZeroB =
    R"DT(
           value  ------------- Distribution ------------- count    
               0 |                                         0        
               1 |                                         0        
               2 |                                         0        

)DT";
const char* const kPosvals =
    R"DT(
           value  ------------- Distribution ------------- count    
               0 |                                         0        
               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 1        
               2 |                                         0        

)DT";
const char* const kNegvals =
    R"DT(
           value  ------------- Distribution ------------- count    
               1                                         | 0        
               2 @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@| -1       
            >= 4                                         | 0        

)DT";
const char* const kAllvals =
    R"DT(
           value  ------------- Distribution ------------- count    
               0                     |                     0        
               1                     |@@@@@@@@@@           1        
               2           @@@@@@@@@@|                     -1       
            >= 4                     |                     0        

)DT";
const char* const kSinglerangeA =
    R"DT(
           value  ------------- Distribution ------------- count    
           <= -4 |@@@@                                     96       
              -3 |@@@@                                     97       
              -2 |@@@@                                     98       
              -1 |@@@@                                     99       
               0 |@@@@                                     100      
               1 |@@@@                                     101      
               2 |@@@@@                                    102      
               3 |@@@@@                                    103      
            >= 4 |@@@@@                                    104      

)DT";
const char* const kSinglerangeB =
    R"DT(
           value  ------------- Distribution ------------- count    
           <= -4 |@@@@                                     96       
              -3 |@@@@                                     97       
              -2 |@@@@                                     98       
              -1 |@@@@                                     99       
               0 |@@@@                                     100      
               1 |@@@@                                     101      
               2 |@@@@@                                    102      
               3 |@@@@@                                    103      
            >= 4 |@@@@@                                    104      

)DT";
const char* const kStraightlog =
    R"DT(
           value  ------------- Distribution ------------- count    
       <= -10000 |@@@@@@                                   200316   
           -1000 |@@@                                      100308   
            -100 |@@@                                      100408   
             -10 |@@@                                      100508   
              -1 |@@@                                      100608   
               0 |@@@                                      100708   
               1 |@@@                                      100808   
              10 |@@@                                      100908   
             100 |@@@                                      101008   
            1000 |@@@                                      101108   
        >= 10000 |@@@@@@                                   202516   

)DT";
const char* const kShift =
    R"DT(
           value  ------------- Distribution ------------- count    
           <= -4 |                                         0        
              -2 |@@@@@@@@@@@@@@@@@@@@                     1        
              -1 |                                         0        
               0 |                                         0        
               1 |                                         0        
               2 |@@@@@@@@@@@@@@@@@@@@                     1        
            >= 4 |                                         0        

)DT";
const char* const kGhostbin =
    R"DT(
           value  ------------- Distribution ------------- count    
              -2 |                                         0        
              -1 |@@@@@@@@@@@@@@@@@@@@                     1        
               0 |                                         0        
               1 |@@@@@@@@@@@@@@@@@@@@                     1        
               2 |                                         0        

)DT";
const char* const kQuantizeSmall =
    R"DT(
           value  ------------- Distribution ------------- count    
              -1 |                                         0        
               0 |@@@@@@@                                  1        
               1 |@@@@@@@@@@@@@                            2        
               2 |@@@@@@@@@@@@@                            2        
               4 |                                         0        
               8 |                                         0        
              16 |                                         0        
              32 |                                         0        
              64 |@@@@@@@                                  1        
             128 |                                         0        

)DT";
const char* const kQuantizeNegative =
    R"DT(
           value  ------------- Distribution ------------- count    
              -8 |                                         0        
              -4 |@@@@@@@@@@@@@                            1        
              -2 |                                         0        
              -1 |@@@@@@@@@@@@@                            1        
               0 |                                         0        
               1 |                                         0        
               2 |@@@@@@@@@@@@@                            1        
               4 |                                         0        

)DT";
const char* const kQuantizeLarge =
    R"DT(
           value  ------------- Distribution ------------- count    
2305843009213693952 |                                         0        
4611686018427387904 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 1        

)DT";
const char* const kQuantizeMixed =
    R"DT(
           value  ------------- Distribution ------------- count    
               0                     |                     0        
               1                     |@@@@@@@@@@@@@        2        
               2              @@@@@@@|                     -1       
               4                     |                     0        

)DT";
const char* const kLquantizeEdges =
    R"DT(
           value  ------------- Distribution ------------- count    
             < 0 |@@@@@@@@@@                               1        
               0 |                                         0        
               2 |@@@@@@@@@@@@@@@@@@@@                     2        
               4 |                                         0        
               6 |                                         0        
               8 |                                         0        
           >= 10 |@@@@@@@@@@                               1        

)DT";
const char* const kLquantizeMiddle =
    R"DT(
           value  ------------- Distribution ------------- count    
               2 |                                         0        
               4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 1        
               6 |                                         0        

)DT";
const char* const kLquantizeEmpty =
    R"DT(
           value  ------------- Distribution ------------- count    
             < 0 |                                         0        
               0 |                                         0        
               2 |                                         0        

)DT";

// --- helpers ----------------------------------------------------------------

Aggregation make(AggFunc f, AggParams p = {}, std::string name = "a") {
  auto a = Aggregation::make(std::move(name), f, p);
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().message());
  return std::move(a).value();
}

AggParams llq(int64_t factor, int64_t low, int64_t high, int64_t steps) {
  AggParams p;
  p.factor = factor;
  p.low = low;
  p.high = high;
  p.steps = steps;
  return p;
}

AggParams lq(int64_t lo, int64_t hi, int64_t step = 1) {
  AggParams p;
  p.lo = lo;
  p.hi = hi;
  p.step = step;
  return p;
}

Key skey(std::string s) { return Key{Value::string(std::move(s))}; }
Key ikey(int64_t v, uint8_t size = 8) { return Key{Value::integer(v, size)}; }

// The values of tst.llquantize_basic.d's "basic" groups: v with incr 100+v.
void add_basic(Aggregation& a) {
  for (int64_t v : {-20, -16, -12, -8, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 8, 12, 16, 20})
    a.add({}, v, 100 + v);
}

// --- scalar functions ---------------------------------------------------------

TEST(Aggregation, CountWithStringKeysSortsByValueThenKey) {
  Aggregation a = make(AggFunc::count);
  for (int i = 0; i < 3; i++) a.add(skey("sshd"));
  a.add(skey("dtrace"));
  a.add(skey("bash"));
  EXPECT_EQ(a.print(),
            "  bash                                                              1\n"
            "  dtrace                                                            1\n"
            "  sshd                                                              3\n");
}

TEST(Aggregation, KeylessCount) {
  Aggregation a = make(AggFunc::count);
  a.add({});
  a.add({});
  EXPECT_EQ(a.print(), "                2\n");
}

TEST(Aggregation, IntegerKeysPrintByWidthAndSortUnsigned) {
  // tst.signedkeys.r: 1- and 2-byte keys print unsigned; all sort unsigned.
  for (uint8_t size : {1, 2, 4, 8}) {
    Aggregation a = make(AggFunc::sum);
    for (int64_t v : {-2, -1, 0, 1, 2}) a.add(ikey(v, size), v);
    std::string expected;
    switch (size) {
      case 1:
        expected = "   0                0\n   1                1\n   2                2\n"
                   " 254               -2\n 255               -1\n";
        break;
      case 2:
        expected = "     0                0\n     1                1\n     2                2\n"
                   " 65534               -2\n 65535               -1\n";
        break;
      case 4:
        expected = "        0                0\n        1                1\n"
                   "        2                2\n       -2               -2\n"
                   "       -1               -1\n";
        break;
      default:
        expected = "                0                0\n                1                1\n"
                   "                2                2\n               -2               -2\n"
                   "               -1               -1\n";
    }
    // The sums sort -2, -1, 0, 1, 2; keys don't matter here, so sort by key
    // instead through equal values:
    Aggregation b = make(AggFunc::count);
    for (int64_t v : {-2, -1, 0, 1, 2}) b.add(ikey(v, size));
    std::string by_key;
    for (const auto* e : b.sorted()) by_key += Aggregation::print_key(e->first) + "|";
    std::string expected_keys;
    size_t pos = 0;
    while (pos < expected.size()) {
      size_t nl = expected.find('\n', pos);
      std::string line = expected.substr(pos, nl - pos);
      expected_keys += line.substr(0, line.size() - 17) + "|";
      pos = nl + 1;
    }
    EXPECT_EQ(by_key, expected_keys) << "size " << int(size);
    // And the full lines, ordered by value.
    std::string got = a.print();
    for (int64_t v : {-2, -1, 0, 1, 2}) {
      std::string line = Aggregation::print_key(ikey(v, size)) +
                         std::string(16 - std::to_string(v).size(), ' ') + " " +
                         std::to_string(v) + "\n";
      EXPECT_NE(got.find(line), std::string::npos) << line;
    }
  }
}

TEST(Aggregation, TupleKeys) {
  Aggregation a = make(AggFunc::count);
  a.add(Key{Value::string("read"), Value::integer(3, 4)});
  a.add(Key{Value::string("read"), Value::integer(3, 4)});
  a.add(Key{Value::string("open"), Value::integer(7, 4)});
  EXPECT_EQ(a.print(),
            "  open                                                      7                1\n"
            "  read                                                      3                2\n");
}

TEST(Aggregation, SumMinMaxAvg) {
  Aggregation sum = make(AggFunc::sum);
  Aggregation mn = make(AggFunc::min);
  Aggregation mx = make(AggFunc::max);
  Aggregation avg = make(AggFunc::avg);
  for (int64_t v : {5, -3, 10, 7}) {
    sum.add({}, v);
    mn.add({}, v);
    mx.add({}, v);
    avg.add({}, v);
  }
  EXPECT_EQ(sum.print(), "               19\n");
  EXPECT_EQ(mn.print(), "               -3\n");
  EXPECT_EQ(mx.print(), "               10\n");
  EXPECT_EQ(avg.print(), "                4\n");  // 19 / 4, integer division
}

TEST(Aggregation, AvgTruncatesTowardZero) {
  Aggregation avg = make(AggFunc::avg);
  avg.add({}, -7);
  avg.add({}, 0);
  EXPECT_EQ(avg.print(), "               -3\n");
}

TEST(Aggregation, Stddev) {
  Aggregation sd = make(AggFunc::stddev);
  for (int64_t v : {2, 4, 4, 4, 5, 5, 7, 9}) sd.add({}, v);
  EXPECT_EQ(sd.print(), "                2\n");
  // Integer arithmetic: sqrt(floor(sum(x^2)/n) - trunc(avg)^2), floored.
  Aggregation sd2 = make(AggFunc::stddev);
  for (int64_t v : {1, 2, 3, 4}) sd2.add({}, v);  // 30/4=7, avg 2 -> sqrt(3) -> 1
  EXPECT_EQ(sd2.print(), "                1\n");
  // Negative values square by magnitude.
  Aggregation sd3 = make(AggFunc::stddev);
  for (int64_t v : {-10, 10}) sd3.add({}, v);
  EXPECT_EQ(sd3.print(), "               10\n");
}

TEST(Aggregation, StddevOfHugeValuesUses128Bits) {
  Aggregation sd = make(AggFunc::stddev);
  sd.add({}, 0);
  sd.add({}, 4000000000LL);  // squares overflow 64 bits
  EXPECT_EQ(sd.print(), "       2000000000\n");
}

// --- quantize -------------------------------------------------------------------

TEST(Quantize, BucketNumbering) {
  EXPECT_EQ(quantize_bucket(0), 63);
  EXPECT_EQ(quantize_bucket(1), 64);
  EXPECT_EQ(quantize_bucket(3), 65);
  EXPECT_EQ(quantize_bucket(4), 66);
  EXPECT_EQ(quantize_bucket(-1), 62);
  EXPECT_EQ(quantize_bucket(-2), 61);
  EXPECT_EQ(quantize_bucket(-3), 61);
  EXPECT_EQ(quantize_bucket(-4), 60);
  EXPECT_EQ(quantize_bucket(std::numeric_limits<int64_t>::max()), 126);
  EXPECT_EQ(quantize_bucket(std::numeric_limits<int64_t>::min()), 0);
  EXPECT_EQ(quantize_bucket_value(0), -(int64_t(1) << 62));
  EXPECT_EQ(quantize_bucket_value(61), -2);
  EXPECT_EQ(quantize_bucket_value(66), 4);
  EXPECT_EQ(quantize_bucket_value(126), int64_t(1) << 62);
}

TEST(Quantize, SmallValuesWithZero) {
  Aggregation a = make(AggFunc::quantize);
  for (int64_t v : {0, 1, 1, 2, 3, 100}) a.add({}, v);
  EXPECT_EQ(a.print(), kQuantizeSmall);
}

TEST(Quantize, NegativeValues) {
  Aggregation a = make(AggFunc::quantize);
  for (int64_t v : {-5, -1, 3}) a.add({}, v);
  EXPECT_EQ(a.print(), kQuantizeNegative);
}

TEST(Quantize, LargestValueHasNoBucketAbove) {
  Aggregation a = make(AggFunc::quantize);
  a.add({}, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(a.print(), kQuantizeLarge);
}

TEST(Quantize, NegativeIncrementsGiveTheMixedSignLayout) {
  Aggregation a = make(AggFunc::quantize);
  a.add({}, 1, 2);
  a.add({}, 2, -1);
  EXPECT_EQ(a.print(), kQuantizeMixed);
}

TEST(Quantize, KeyLineComesBeforeTheDistribution) {
  // tst.quantize.r: the key, then the distribution block.
  Aggregation a = make(AggFunc::quantize);
  a.add(ikey(100, 4), 64);
  EXPECT_EQ(a.print(),
            "      100\n"
            "           value  ------------- Distribution ------------- count    \n"
            "              32 |                                         0        \n"
            "              64 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 1        \n"
            "             128 |                                         0        \n"
            "\n");
}

TEST(Quantize, SortsByWeightedSum) {
  Aggregation a = make(AggFunc::quantize);
  a.add(skey("big"), 1000);
  a.add(skey("small"), 1);
  a.add(skey("small"), 1);
  auto order = a.sorted();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0]->first[0].s, "small");
  EXPECT_EQ(order[1]->first[0].s, "big");
}

// --- lquantize -------------------------------------------------------------------

TEST(Lquantize, EdgeRows) {
  Aggregation a = make(AggFunc::lquantize, lq(0, 10, 2));
  for (int64_t v : {-5, 3, 3, 11}) a.add({}, v);
  EXPECT_EQ(a.print(), kLquantizeEdges);
}

TEST(Lquantize, OnlyTheNonZeroRangePlusOneEachSide) {
  Aggregation a = make(AggFunc::lquantize, lq(0, 10, 2));
  a.add({}, 4);
  EXPECT_EQ(a.print(), kLquantizeMiddle);
}

TEST(Lquantize, EmptyAfterClearPrintsTheFirstThreeRows) {
  Aggregation a = make(AggFunc::lquantize, lq(0, 10, 2));
  a.add({}, 4);
  a.clear();
  EXPECT_EQ(a.print(), kLquantizeEmpty);
}

TEST(Lquantize, BadParameters) {
  EXPECT_EQ(check_params(AggFunc::lquantize, lq(10, 0))->id, "D_LQUANT_MISMATCH");
  // dt_cg: a step that is not a positive constant is D_LQUANT_STEPTYPE, one
  // over 16 bits D_LQUANT_STEPVAL.
  EXPECT_EQ(check_params(AggFunc::lquantize, lq(0, 10, 0))->id, "D_LQUANT_STEPTYPE");
  EXPECT_EQ(check_params(AggFunc::lquantize, lq(0, 100000, 70000))->id, "D_LQUANT_STEPVAL");
  EXPECT_EQ(check_params(AggFunc::lquantize, lq(0, 10, 20))->id, "D_LQUANT_STEPLARGE");
  EXPECT_FALSE(check_params(AggFunc::lquantize, lq(-10, 10, 3)).has_value());
  EXPECT_FALSE(Aggregation::make("x", AggFunc::lquantize, lq(5, 5)).ok());
}

// --- llquantize (dtrace-utils tst.llquantize_basic) -------------------------------

TEST(Llquantize, StepsLessThanFactor) {
  Aggregation a = make(AggFunc::llquantize, llq(4, 0, 1, 2));
  add_basic(a);
  EXPECT_EQ(a.print(), kBasicA);
}

TEST(Llquantize, StepsEqualFactor) {
  Aggregation a = make(AggFunc::llquantize, llq(4, 0, 1, 4));
  add_basic(a);
  EXPECT_EQ(a.print(), kBasicB);
}

TEST(Llquantize, StepsGreaterThanFactor) {
  Aggregation a = make(AggFunc::llquantize, llq(4, 0, 1, 8));
  add_basic(a);
  EXPECT_EQ(a.print(), kBasicC);
}

TEST(Llquantize, LargerLowMagnitude) {
  Aggregation a = make(AggFunc::llquantize, llq(4, 4, 6, 32));
  const std::pair<int64_t, int64_t> vals[] = {
      {-65536, 2}, {-16384, 4}, {-16384 + 1, 8}, {-4096 - 11 * 512, 16},
      {-4096 - 11 * 512 + 1, 32}, {-4096 - 10 * 512, 64}, {-4096 - 10 * 512 + 1, 128},
      {-4096 - 9 * 512, 256}, {-4096 - 9 * 512 + 1, 512}, {-4096 - 8 * 512, 1024},
      {-4096 - 8 * 512 + 1, 1024}, {-4096 - 1 * 512 - 2, 2048}, {-4096 - 1 * 512 - 1, 4096},
      {-1024 - 12 * 128, 2048}, {-1024 - 12 * 128 + 1, 4096}, {-1024, 2048},
      {-256 - 3 * 32, 1024}, {-256 - 3 * 32 + 1, 512}, {-256, 256}, {-256 + 1, 128},
      {256 - 1, 2}, {256, 256}, {256 + 3 * 32 - 1, 512}, {256 + 3 * 32, 1024},
      {1024, 2048}, {1024 + 12 * 128 - 1, 4096}, {1024 + 12 * 128, 2048},
      {4096 + 1 * 512 + 1, 4096}, {4096 + 1 * 512 + 2, 2048}, {4096 + 8 * 512 - 1, 1024},
      {4096 + 8 * 512, 1024}, {4096 + 9 * 512 - 1, 512}, {4096 + 9 * 512, 256},
      {4096 + 10 * 512 - 1, 128}, {4096 + 10 * 512, 64}, {4096 + 11 * 512 - 1, 32},
      {4096 + 11 * 512, 16}, {16384 - 1, 8}, {16384, 4}, {65536, 2}};
  for (auto [v, incr] : vals) a.add({}, v, incr);
  std::string out = a.print();
  // Selected rows of tst.llquantize_basic.r's basicD block.
  for (const char* row : {
           "\n       <= -16384 |                                         6        \n",
           "\n          -15872 |                                         8        \n",
           "\n           -8192 |@@                                       1536     \n",
           "\n           -4608 |@@@@@@                                   6144     \n",
           "\n           -4096 |                                         0        \n",
           "\n           -2432 |@@@@                                     4096     \n",
           "\n            -352 |@                                        1024     \n",
           "\n            -256 |                                         256      \n",
           "\n     abs() < 256 |                                         130      \n",
           "\n             256 |                                         256      \n",
           "\n            1024 |@@                                       2048     \n",
           "\n            1152 |                                         0        \n",
           "\n            4608 |@@@@@@                                   6144     \n",
           "\n           15872 |                                         8        \n",
           "\n        >= 16384 |                                         6        \n"}) {
    EXPECT_NE(out.find(row), std::string::npos) << row;
  }
  // 2 signs * 3 magnitudes * (32 - 8) bins + 3 edge bins, all in range.
  size_t rows = 0;
  for (char c : out) rows += c == '\n';
  EXPECT_EQ(rows, 3u + 2 * 3 * 24 + 3);  // header, rows, trailing newline
}

TEST(Llquantize, AllZeroCounts) {
  Aggregation zero = make(AggFunc::llquantize, llq(2, 0, 1, 2));
  zero.add({}, 0, 1);
  zero.add({}, 0, -1);
  EXPECT_EQ(zero.print(), kZero);
  Aggregation zero_b = make(AggFunc::llquantize, llq(2, 0, 1, 4));
  zero_b.add({}, 0, 1);
  zero_b.add({}, 0, -1);
  EXPECT_EQ(zero_b.print(), kZeroB);
}

TEST(Llquantize, SignsOfCounts) {
  Aggregation pos = make(AggFunc::llquantize, llq(2, 0, 1, 2));
  pos.add({}, 1, 1);
  EXPECT_EQ(pos.print(), kPosvals);
  Aggregation neg = make(AggFunc::llquantize, llq(2, 0, 1, 2));
  neg.add({}, 2, -1);
  EXPECT_EQ(neg.print(), kNegvals);
  Aggregation all = make(AggFunc::llquantize, llq(2, 0, 1, 2));
  all.add({}, 1, 1);
  all.add({}, 2, -1);
  EXPECT_EQ(all.print(), kAllvals);
}

TEST(Llquantize, SingleRange) {
  for (int64_t steps : {4, 8}) {
    Aggregation a = make(AggFunc::llquantize, llq(4, 0, 0, steps));
    for (int64_t v = -4; v <= 4; v++) a.add({}, v, 100 + v);
    EXPECT_EQ(a.print(), steps == 4 ? kSinglerangeA : kSinglerangeB);
  }
}

TEST(Llquantize, StraightLog) {
  Aggregation a = make(AggFunc::llquantize, llq(10, 0, 3, 1));
  int64_t incr = 100108;
  for (int64_t v : {-100000, -10000, -1000, -100, -10, -1, 0, 1, 10, 100, 1000, 10000, 100000}) {
    a.add({}, v, incr);
    incr += 100;
  }
  EXPECT_EQ(a.print(), kStraightlog);
}

TEST(Llquantize, RangeShiftedOneEachSide) {
  Aggregation a = make(AggFunc::llquantize, llq(2, 0, 1, 2));
  a.add({}, -3);
  a.add({}, 3);
  EXPECT_EQ(a.print(), kShift);
}

TEST(Llquantize, GhostBins) {
  Aggregation a = make(AggFunc::llquantize, llq(2, 0, 1, 4));
  a.add({}, -1);
  a.add({}, 1);
  EXPECT_EQ(a.print(), kGhostbin);
}

TEST(Llquantize, BadParameters) {
  EXPECT_EQ(check_params(AggFunc::llquantize, llq(1, 0, 6, 20))->id, "D_LLQUANT_FACTORVAL");
  EXPECT_EQ(check_params(AggFunc::llquantize, llq(10, 4, 3, 20))->id, "D_LLQUANT_HMAGVAL");
  EXPECT_EQ(check_params(AggFunc::llquantize, llq(10, 0, 6, 30))->id, "D_LLQUANT_STEPVAL");
  EXPECT_EQ(check_params(AggFunc::llquantize, llq(10, 2, 6, 80))->id, "D_LLQUANT_STEPVAL");
  EXPECT_EQ(check_params(AggFunc::llquantize, llq(10, 0, 6, 3))->id, "D_LLQUANT_STEPVAL");
  EXPECT_EQ(check_params(AggFunc::llquantize, llq(10, 0, 30, 10))->id, "D_LLQUANT_HMAGVAL");
  EXPECT_FALSE(check_params(AggFunc::llquantize, llq(10, 0, 6, 20)).has_value());
  EXPECT_FALSE(check_params(AggFunc::llquantize, llq(4, 4, 6, 32)).has_value());
}

// --- operations -------------------------------------------------------------------

Aggregation five_sums() {
  Aggregation a = make(AggFunc::sum);
  for (int64_t k = 100; k < 105; k++) a.add(ikey(k, 4), 1000 + (k - 100));
  a.add(ikey(300, 4), 2100);
  a.add(ikey(200, 4), 10);
  return a;
}

TEST(Operations, TruncKeepsTheLargest) {
  Aggregation a = five_sums();
  a.trunc(2);
  EXPECT_EQ(a.print(),
            "      104             1004\n"
            "      300             2100\n");
}

TEST(Operations, NegativeTruncKeepsTheSmallest) {
  Aggregation a = five_sums();
  a.trunc(-2);
  EXPECT_EQ(a.print(),
            "      200               10\n"
            "      100             1000\n");
}

TEST(Operations, TruncBeyondSizeKeepsAllAndTruncAllRemovesAll) {
  Aggregation a = five_sums();
  a.trunc(100);
  EXPECT_EQ(a.size(), 7u);
  a.trunc(0);
  EXPECT_EQ(a.size(), 0u);
  Aggregation b = five_sums();
  b.trunc_all();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.print(), "");
}

TEST(Operations, ClearZeroesButKeepsKeys) {
  Aggregation a = make(AggFunc::count);
  a.add(skey("x"));
  a.add(skey("y"));
  a.add(skey("y"));
  a.clear();
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a.print(),
            "  x                                                                 0\n"
            "  y                                                                 0\n");
  a.add(skey("y"));
  EXPECT_EQ(a.find(skey("y"))->count, 1);
}

TEST(Operations, ClearedMinStartsOver) {
  Aggregation a = make(AggFunc::min);
  a.add({}, -5);
  a.clear();
  a.add({}, 7);
  EXPECT_EQ(a.print(), "                7\n");
}

TEST(Operations, NormalizeDividesPrintedValues) {
  Aggregation a = make(AggFunc::sum);
  a.add(skey("a"), 1000);
  a.add(skey("b"), 2999);
  a.normalize(1000);
  EXPECT_EQ(a.print(),
            "  a                                                                 1\n"
            "  b                                                                 2\n");
  a.denormalize();
  EXPECT_EQ(a.print(),
            "  a                                                              1000\n"
            "  b                                                              2999\n");
}

TEST(Operations, NormalizedQuantizeDividesCountsNotBars) {
  Aggregation a = make(AggFunc::quantize);
  a.add({}, 1, 10);
  a.add({}, 2, 30);
  a.normalize(10);
  EXPECT_EQ(a.print(),
            "\n           value  ------------- Distribution ------------- count    \n"
            "               0 |                                         0        \n"
            "               1 |@@@@@@@@@@                               1        \n"
            "               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@           3        \n"
            "               4 |                                         0        \n\n");
}

TEST(Operations, AddNeverRehashesAnExistingKeyIntoANewEntry) {
  Aggregation a = make(AggFunc::count);
  Value v = Value::integer(42, 4);
  for (int i = 0; i < 1000; i++) a.add(std::span<const Value>(&v, 1));
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(a.find(std::span<const Value>(&v, 1))->count, 1000);
}

// --- joined printing -------------------------------------------------------------

TEST(Joined, KeysFromEitherAggregationWithZeroForMissing) {
  Aggregation c = make(AggFunc::count, {}, "c");
  Aggregation s = make(AggFunc::sum, {}, "s");
  c.add(skey("a"));
  c.add(skey("a"));
  c.add(skey("b"));
  s.add(skey("a"), 50);
  s.add(skey("z"), 7);
  const Aggregation* both[] = {&c, &s};
  EXPECT_EQ(print_joined(both),
            "  z                                                                 0                7\n"
            "  b                                                                 1                0\n"
            "  a                                                                 2               50\n");
}

TEST(Joined, PrintaDefaultAndExitLeadWithABlankLine) {
  // tst.llquantize_basic.r / tst.trunc-sum-neg5.r: "\n" then the entries.
  Aggregation a = make(AggFunc::sum);
  a.add(ikey(100, 4), 1000);
  const Aggregation* one[] = {&a};
  EXPECT_EQ(printa_default(one), "\n      100             1000\n");
  EXPECT_EQ(print_at_exit(a), "\n      100             1000\n");
  Aggregation empty = make(AggFunc::count);
  EXPECT_EQ(print_at_exit(empty), "");
  const Aggregation* none[] = {&empty};
  EXPECT_EQ(printa_default(none), "\n");
}

TEST(Joined, KeysSortByEachAggregationThenKey) {
  Aggregation c = make(AggFunc::count, {}, "c");
  Aggregation s = make(AggFunc::sum, {}, "s");
  for (const char* k : {"m", "n", "o"}) c.add(skey(k));
  s.add(skey("o"), 1);
  s.add(skey("m"), 2);
  const Aggregation* both[] = {&c, &s};
  std::vector<Key> keys = joined_keys(both);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0][0].s, "n");  // counts tie at 1; sums 0 < 1 < 2
  EXPECT_EQ(keys[1][0].s, "o");
  EXPECT_EQ(keys[2][0].s, "m");
}

// --- stacks and symbols as keys --------------------------------------------------

TEST(Keys, StackKeyPrintsFramesIndented) {
  Aggregation a = make(AggFunc::count);
  Value st;
  st.kind = Value::Kind::stack;
  st.s = "libc.so.6`write+0x14\na.out`main+0x20\n";
  a.add(Key{st});
  EXPECT_EQ(a.print(),
            "\n"
            "              libc.so.6`write+0x14\n"
            "              a.out`main+0x20\n"
            "                1\n");
}

TEST(Keys, SymbolKeyPrintsLikeAString) {
  Value sym;
  sym.kind = Value::Kind::symbol;
  sym.i = 0x401000;
  sym.s = "a.out`work";
  EXPECT_EQ(Aggregation::print_key(Key{sym}),
            "  a.out`work                                        ");
}

// --- JSON ------------------------------------------------------------------------

TEST(Json, MapWithKeys) {
  Aggregation a = make(AggFunc::count, {}, "calls");
  a.add(skey("read"));
  a.add(skey("read"));
  a.add(skey("open"));
  EXPECT_EQ(a.json(), R"({"type":"map","data":{"@calls":{"open":1,"read":2}}})");
}

TEST(Json, TupleKeysJoinWithComma) {
  Aggregation a = make(AggFunc::sum, {}, "");
  a.add(Key{Value::string("x"), Value::integer(3, 4)}, 9);
  EXPECT_EQ(a.json(), R"({"type":"map","data":{"@":{"x,3":9}}})");
}

TEST(Json, KeylessMapIsTheValue) {
  Aggregation a = make(AggFunc::max, {}, "m");
  a.add({}, 12);
  EXPECT_EQ(a.json(), R"({"type":"map","data":{"@m":12}})");
}

TEST(Json, QuantizeHist) {
  Aggregation a = make(AggFunc::quantize, {}, "h");
  for (int64_t v : {0, 1, 2, 3, 5, -3}) a.add({}, v);
  EXPECT_EQ(a.json(),
            R"({"type":"hist","data":{"@h":[{"min":-3,"max":-2,"count":1},)"
            R"({"min":0,"max":0,"count":1},{"min":1,"max":1,"count":1},)"
            R"({"min":2,"max":3,"count":2},{"min":4,"max":7,"count":1}]}})");
}

TEST(Json, QuantizeHistPerKey) {
  Aggregation a = make(AggFunc::quantize, {}, "h");
  a.add(skey("k"), 1);
  EXPECT_EQ(a.json(), R"({"type":"hist","data":{"@h":{"k":[{"min":1,"max":1,"count":1}]}}})");
}

TEST(Json, LquantizeEdgesAreOpenEnded) {
  Aggregation a = make(AggFunc::lquantize, lq(0, 10, 5), "l");
  for (int64_t v : {-1, 6, 10}) a.add({}, v);
  EXPECT_EQ(a.json(), R"({"type":"hist","data":{"@l":[{"max":-1,"count":1},)"
                      R"({"min":5,"max":9,"count":1},{"min":10,"count":1}]}})");
}

TEST(Json, LlquantizeBuckets) {
  Aggregation a = make(AggFunc::llquantize, llq(10, 0, 1, 10), "ll");
  for (int64_t v : {0, 7, 25, 150, -3}) a.add({}, v);
  EXPECT_EQ(a.json(), R"({"type":"hist","data":{"@ll":[{"min":-3,"max":-3,"count":1},)"
                      R"({"min":0,"max":0,"count":1},{"min":7,"max":7,"count":1},)"
                      R"({"min":20,"max":29,"count":1},{"min":100,"count":1}]}})");
}

TEST(Json, AvgIsStats) {
  Aggregation a = make(AggFunc::avg, {}, "lat");
  a.add(skey("f"), 10);
  a.add(skey("f"), 21);
  EXPECT_EQ(a.json(),
            R"({"type":"stats","data":{"@lat":{"f":{"count":2,"average":15,"total":31}}}})");
}

TEST(Json, StringKeysAreEscaped) {
  Aggregation a = make(AggFunc::count, {}, "q");
  a.add(skey("say \"hi\""));
  EXPECT_EQ(a.json(), R"({"type":"map","data":{"@q":{"say \"hi\"":1}}})");
}

}  // namespace
}  // namespace probekit::d
