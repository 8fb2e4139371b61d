// d/aggregation.cpp — the state, update, ordering and printing of D
// aggregations.
//
// Everything that decides what the user sees follows dtrace-utils
// (libdtrace/dt_consume.c, dt_aggregate.c) so that output is byte-for-byte
// DTrace's:
//   * keys print as " %16lld" / " %8d" / " %5d" / " %3d" by integer width
//     (1- and 2-byte keys read unsigned, 4- and 8-byte signed), strings and
//     symbols as "  %-50s", stacks as "\n" then one indented frame per line;
//   * entries sort by value, ties by key, keys comparing as unsigned
//     integers of their width or bytewise;
//   * the distributions print the non-zero range widened by one bucket on
//     each side, bars rounded as (|count| * 40 / total + 0.5), and halved
//     bars around a centre line when counts of both signs exist (negative
//     increments);
//   * llquantize uses dtrace-utils 2.x's layout: mirrored negative ranges,
//     a zero bucket ("abs() < N" when lmag > 0), labelled lower edges, and
//     "ghost" bins (fractional edges, never filled) skipped when printing.
#include "d/aggregation.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>

#include "util/strings.h"

namespace probekit::d {
namespace {

__extension__ typedef unsigned __int128 U128;

constexpr int kBarLen = 40;
// dtrace(1)'s default indentation of stack frames (_dtrace_stkindent).
constexpr int kStackIndent = 14;

std::string sfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string sfmt(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::string out;
  if (n < 0) {
    va_end(ap2);
    return out;
  }
  if (static_cast<size_t>(n) < sizeof buf) {
    out.assign(buf, static_cast<size_t>(n));
  } else {
    out.resize(static_cast<size_t>(n));
    std::vsnprintf(out.data(), static_cast<size_t>(n) + 1, fmt, ap2);
  }
  va_end(ap2);
  return out;
}

uint64_t upow(uint64_t base, int64_t exp) {
  U128 r = 1;
  for (int64_t i = 0; i < exp; i++) {
    r *= base;
    if (r > std::numeric_limits<uint64_t>::max()) return 0;  // overflow: caller validated
  }
  return static_cast<uint64_t>(r);
}

uint64_t isqrt128(U128 v) {
  // Bit-by-bit integer square root: floor(sqrt(v)), as dt_sqrt_128.
  U128 res = 0;
  U128 bit = static_cast<U128>(1) << 126;
  while (bit > v) bit >>= 2;
  while (bit != 0) {
    if (v >= res + bit) {
      v -= res + bit;
      res = (res >> 1) + bit;
    } else {
      res >>= 1;
    }
    bit >>= 2;
  }
  return static_cast<uint64_t>(res);
}

uint64_t abs_u64(int64_t v) {
  return v < 0 ? static_cast<uint64_t>(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

// The llquantize geometry shared by bucketing, labelling and JSON.
struct LlqShape {
  uint64_t factor;
  int64_t lmag;
  int64_t hmag;
  int64_t steps;
  int64_t steps_factor;  // steps / factor (0 when steps < factor)
  int64_t per_mag;       // bins per order of magnitude
  int64_t npos;          // positive bins below the overflow bin
  int bin0;              // the |v| < factor^lmag bin
  int nbins;
};

LlqShape llq_shape(const AggParams& p) {
  LlqShape s{};
  s.factor = static_cast<uint64_t>(p.factor);
  s.lmag = p.low;
  s.hmag = p.high;
  s.steps = p.steps;
  s.steps_factor = p.steps / p.factor;
  s.per_mag = p.steps - s.steps_factor;
  s.npos = (p.high - p.low + 1) * s.per_mag;
  s.bin0 = static_cast<int>(1 + s.npos);
  s.nbins = static_cast<int>(2 * s.npos + 3);
  return s;
}

int llq_bucket(const LlqShape& s, int64_t v) {
  uint64_t a = abs_u64(v);
  uint64_t low = upow(s.factor, s.lmag);
  if (a < low) return s.bin0;
  U128 top = static_cast<U128>(upow(s.factor, s.hmag)) * s.factor;
  int64_t k;
  if (a >= top) {
    k = s.npos + 1;
  } else {
    int64_t mag = s.lmag;
    U128 next = static_cast<U128>(low) * s.factor;
    while (a >= next) {
      next *= s.factor;
      mag++;
    }
    int64_t idx = static_cast<int64_t>(static_cast<U128>(a) * static_cast<U128>(s.steps) / next);
    k = 1 + (mag - s.lmag) * s.per_mag + idx - s.steps_factor;
  }
  return v < 0 ? s.bin0 - static_cast<int>(k) : s.bin0 + static_cast<int>(k);
}

// Lower edge of positive bin k (1..npos+1) of an llquantize: the smallest
// integer it can hold. Ghost bins get the edge of the next real bin.
uint64_t llq_lower_edge(const LlqShape& s, int64_t k) {
  if (k > s.npos) return upow(s.factor, s.hmag + 1);
  int64_t mag = s.lmag + (k - 1) / s.per_mag;
  int64_t idx = (k - 1) % s.per_mag + s.steps_factor;
  U128 span = static_cast<U128>(upow(s.factor, mag)) * s.factor;
  U128 edge = (static_cast<U128>(idx) * span + static_cast<U128>(s.steps) - 1) /
              static_cast<U128>(s.steps);
  uint64_t floor_edge = upow(s.factor, mag);
  return std::max(static_cast<uint64_t>(edge), floor_edge);
}

int lquantize_levels(const AggParams& p) { return static_cast<int>((p.hi - p.lo) / p.step); }

int lquantize_bucket(const AggParams& p, int levels, int64_t v) {
  if (v < p.lo) return 0;
  __extension__ __int128 level = (static_cast<__int128>(v) - p.lo) / p.step;
  if (level < levels) return static_cast<int>(level) + 1;
  return levels + 1;
}

// One row's bar and count, dt_print_quantline().
std::string quantline(int64_t val, int64_t normal, long double total, bool positives,
                      bool negatives) {
  static const std::string ats(kBarLen, '@');
  static const std::string spaces(kBarLen, ' ');
  auto depth_of = [&](int len) {
    long double f = (std::fabs(static_cast<long double>(val)) * len) / total;
    return static_cast<unsigned>(f + 0.5L);
  };
  long long shown = static_cast<long long>(val / normal);
  if (!negatives) {
    unsigned depth = positives ? depth_of(kBarLen) : 0;
    return "|" + ats.substr(0, depth) + spaces.substr(0, kBarLen - depth) + " " +
           sfmt("%-9lld", shown) + "\n";
  }
  if (!positives) {
    unsigned depth = depth_of(kBarLen);
    return spaces.substr(0, kBarLen - depth) + ats.substr(0, depth) + "| " +
           sfmt("%-9lld", shown) + "\n";
  }
  const int half = kBarLen / 2;
  unsigned depth = depth_of(half);
  if (val <= 0) {
    return spaces.substr(0, half - depth) + ats.substr(0, depth) + "|" +
           std::string(half, ' ') + " " + sfmt("%-9lld", shown) + "\n";
  }
  return std::string(half, ' ') + "|" + ats.substr(0, depth) + spaces.substr(0, half - depth) +
         " " + sfmt("%-9lld", shown) + "\n";
}

const char* kDistHeader = "\n           value  ------------- Distribution ------------- count    \n";

struct Range {
  int first;
  int last;
  long double total;
  bool positives;
  bool negatives;
};

Range scan(const std::vector<int64_t>& b, int first, int last) {
  Range r{first, last, 0, false, false};
  for (int i = first; i <= last; i++) {
    r.positives |= b[i] > 0;
    r.negatives |= b[i] < 0;
    r.total += std::fabs(static_cast<long double>(b[i]));
  }
  return r;
}

std::string print_quantize(const std::vector<int64_t>& b, int64_t normal) {
  int n = kQuantizeBuckets;
  int first = 0;
  int last = n - 1;
  while (first < n - 1 && b[first] == 0) first++;
  // dt_print_quantize() takes "reached the last bucket" for "no data" and
  // prints an empty distribution when only the top bucket has counts; we
  // look at that bucket too.
  if (first == n - 1 && b[first] == 0) {
    first = kQuantizeZeroBucket - 1;
    last = kQuantizeZeroBucket + 1;
  } else {
    if (first > 0) first--;
    while (last > 0 && b[last] == 0) last--;
    if (last < n - 1) last++;
  }
  Range r = scan(b, first, last);
  std::string out = kDistHeader;
  for (int i = first; i <= last; i++) {
    out += sfmt("%16lld ", static_cast<long long>(quantize_bucket_value(i)));
    out += quantline(b[i], normal, r.total, r.positives, r.negatives);
  }
  return out;
}

std::string print_lquantize(const std::vector<int64_t>& b, const AggParams& p, int64_t normal) {
  int levels = lquantize_levels(p);
  int first = 0;
  int last = levels + 1;
  while (first <= levels + 1 && b[first] == 0) first++;
  if (first > levels + 1) {
    first = 0;
    last = 2;
  } else {
    if (first > 0) first--;
    while (last > 0 && b[last] == 0) last--;
    if (last < levels + 1) last++;
  }
  Range r = scan(b, first, last);
  std::string out = kDistHeader;
  for (int i = first; i <= last; i++) {
    if (i == 0) {
      out += sfmt("%16s ", sfmt("< %lld", static_cast<long long>(p.lo)).c_str());
    } else if (i == levels + 1) {
      out += sfmt("%16s ",
                  sfmt(">= %lld", static_cast<long long>(p.lo + levels * p.step)).c_str());
    } else {
      out += sfmt("%16lld ", static_cast<long long>(p.lo + (i - 1) * p.step));
    }
    out += quantline(b[i], normal, r.total, r.positives, r.negatives);
  }
  return out;
}

std::string print_llquantize(const std::vector<int64_t>& b, const AggParams& p, int64_t normal) {
  LlqShape s = llq_shape(p);
  int nbins = s.nbins;
  int bin0 = s.bin0;
  int first = 0;
  int last = nbins - 1;
  while (first <= last && b[first] == 0) first++;
  if (first > last) {
    first = last = bin0 + 1;  // at least one bin so the output is not empty
  } else {
    while (b[last] == 0) last--;
  }
  Range r = scan(b, first, last);
  std::string out = kDistHeader;
  if (first > 0) first--;
  if (last < nbins - 1) last++;

  // Labels, as dt_print_llquantize computes them: only labelled bins print;
  // with lmag == 0 and steps > factor some bins have fractional edges and
  // get no label ("ghost bins"), so the widened range borrows a neighbour's.
  int pad = (s.lmag == 0 && s.steps > static_cast<int64_t>(s.factor))
                ? static_cast<int>(s.steps_factor)
                : 0;
  int lo = first - pad;
  int hi = last + pad;
  std::vector<std::string> label(static_cast<size_t>(hi - lo + 1));
  auto put = [&](int i, std::string text) {
    if (i >= lo && i <= hi) label[static_cast<size_t>(i - lo)] = std::move(text);
  };
  auto ull = [](uint64_t v) { return sfmt("%llu", static_cast<unsigned long long>(v)); };
  uint64_t scale = upow(s.factor, s.lmag);
  if (scale == 1) {
    put(bin0, "0");
  } else if (first >= bin0) {
    put(bin0, "< " + ull(scale));
  } else {
    put(bin0, "abs() < " + ull(scale));
  }
  put(bin0 - 1, "-" + ull(scale));
  put(bin0 + 1, ull(scale));
  int64_t mag = s.lmag;
  int i = 1;
  if (pad > 0) {
    for (uint64_t step = 2; step <= s.factor; step++) {
      i += static_cast<int>(s.steps_factor);
      put(bin0 - i, "-" + ull(step));
      put(bin0 + i, ull(step));
    }
    mag++;
  }
  scale = upow(s.factor, mag + 1) / static_cast<uint64_t>(s.steps);
  for (; mag <= s.hmag; mag++) {
    for (int64_t step = s.steps_factor + 1; step <= s.steps; step++) {
      i++;
      put(bin0 - i, "-" + ull(static_cast<uint64_t>(step) * scale));
      put(bin0 + i, ull(static_cast<uint64_t>(step) * scale));
    }
    scale *= s.factor;
  }
  uint64_t top = upow(s.factor, s.hmag + 1);
  put(0, "<= -" + ull(top));
  put(nbins - 1, ">= " + ull(top));
  if (pad > 0) {
    auto at = [&](int bin) -> std::string& { return label[static_cast<size_t>(bin - lo)]; };
    if (at(first).empty()) {
      for (int j = 1; j < pad; j++) {
        if (!at(first - j).empty()) {
          at(first) = at(first - j);
          break;
        }
      }
    }
    if (at(last).empty()) {
      for (int j = 1; j < pad; j++) {
        if (!at(last + j).empty()) {
          at(last) = at(last + j);
          break;
        }
      }
    }
  }
  for (int bin = first; bin <= last; bin++) {
    const std::string& l = label[static_cast<size_t>(bin - lo)];
    if (l.empty()) continue;
    out += sfmt("%16s ", l.c_str());
    out += quantline(b[bin], normal, r.total, r.positives, r.negatives);
  }
  return out;
}

uint64_t stddev_of(const AggState& s, int64_t normal) {
  if (s.count == 0) return 0;
  U128 sumsq = (static_cast<U128>(s.sumsq_hi) << 64) | s.sumsq_lo;
  uint64_t n = static_cast<uint64_t>(normal);
  // illumos divides the sum of squares by normal twice (the square of the
  // normalization); dtrace-utils' older copy divides once. Twice is right.
  U128 avg_sq = sumsq / n / n / static_cast<uint64_t>(s.count);
  int64_t avg = s.value / normal / s.count;
  uint64_t aavg = abs_u64(avg);
  U128 sq = static_cast<U128>(aavg) * aavg;
  return isqrt128(avg_sq - sq);
}

// Weighted sums DTrace sorts distributions by (dt_aggregate_*quantizedcmp).
struct DistWeight {
  long double total;
  int64_t zero;
};

int cmp3(long double a, long double b) { return a < b ? -1 : (a > b ? 1 : 0); }
template <typename T>
int cmp3i(T a, T b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

int compare_value(const Value& a, const Value& b) {
  if (a.kind != b.kind) return cmp3i(static_cast<int>(a.kind), static_cast<int>(b.kind));
  switch (a.kind) {
    case Value::Kind::floating:  // by their bits, as the key's bytes
    case Value::Kind::integer: {
      // Unsigned at the key's width, as dt_aggregate_keycmp reads them.
      auto narrow = [](const Value& v) -> uint64_t {
        switch (v.size) {
          case 1: return static_cast<uint8_t>(v.i);
          case 2: return static_cast<uint16_t>(v.i);
          case 4: return static_cast<uint32_t>(v.i);
          default: return v.u();
        }
      };
      if (a.size != b.size) return cmp3i(a.size, b.size);
      return cmp3i(narrow(a), narrow(b));
    }
    case Value::Kind::symbol:
      if (a.i != b.i) return cmp3i(a.u(), b.u());
      [[fallthrough]];
    case Value::Kind::string:
    case Value::Kind::stack: {
      int c = std::memcmp(a.s.data(), b.s.data(), std::min(a.s.size(), b.s.size()));
      if (c != 0) return c < 0 ? -1 : 1;
      return cmp3i(a.s.size(), b.s.size());
    }
  }
  return 0;
}

}  // namespace

const char* to_string(AggFunc f) {
  switch (f) {
    case AggFunc::count: return "count";
    case AggFunc::sum: return "sum";
    case AggFunc::avg: return "avg";
    case AggFunc::min: return "min";
    case AggFunc::max: return "max";
    case AggFunc::stddev: return "stddev";
    case AggFunc::quantize: return "quantize";
    case AggFunc::lquantize: return "lquantize";
    case AggFunc::llquantize: return "llquantize";
  }
  return "?";
}

int64_t quantize_bucket_value(int i) {
  if (i < kQuantizeZeroBucket) return -(static_cast<int64_t>(1) << (kQuantizeZeroBucket - 1 - i));
  if (i == kQuantizeZeroBucket) return 0;
  return static_cast<int64_t>(1) << (i - kQuantizeZeroBucket - 1);
}

int quantize_bucket(int64_t v) {
  if (v == 0) return kQuantizeZeroBucket;
  if (v > 0) return kQuantizeZeroBucket + 1 + (63 - __builtin_clzll(static_cast<uint64_t>(v)));
  // Negative: bucket i holds (2 * bucketval(i), bucketval(i)].
  int log2 = 63 - __builtin_clzll(abs_u64(v));
  return std::max(0, kQuantizeZeroBucket - 1 - log2);
}

std::optional<AggParamIssue> check_params(AggFunc func, const AggParams& p) {
  auto issue = [](const char* id, int arg, std::string msg) {
    return std::optional<AggParamIssue>(AggParamIssue{id, arg, std::move(msg)});
  };
  if (func == AggFunc::lquantize) {
    if (p.lo < std::numeric_limits<int32_t>::min() || p.lo > std::numeric_limits<int32_t>::max())
      return issue("D_LQUANT_BASEVAL", 1,
                   "lquantize() lower bound (argument #2) must be a 32-bit quantity");
    if (p.hi < std::numeric_limits<int32_t>::min() || p.hi > std::numeric_limits<int32_t>::max())
      return issue("D_LQUANT_LIMVAL", 2,
                   "lquantize() upper bound (argument #3) must be a 32-bit quantity");
    if (p.hi <= p.lo)
      return issue("D_LQUANT_MISMATCH", 2,
                   "lquantize() upper bound (argument #3) must be greater than the lower "
                   "bound (argument #2)");
    if (p.step <= 0)
      return issue("D_LQUANT_STEPTYPE", 3, "lquantize() step (argument #4) must be a positive integer constant");
    if (p.step > std::numeric_limits<uint16_t>::max())
      return issue("D_LQUANT_STEPVAL", 3, "lquantize() step (argument #4) must be a 16-bit quantity (at most 65535)");
    int64_t levels = (p.hi - p.lo) / p.step;
    if (levels == 0)
      return issue("D_LQUANT_STEPLARGE", 3,
                   "lquantize() step (argument #4) must be smaller than the range between "
                   "the bounds");
    if (levels > std::numeric_limits<uint16_t>::max())
      return issue("D_LQUANT_STEPSMALL", 3,
                   "lquantize() step (argument #4) is too small: the range would need more "
                   "than 65535 buckets");
  } else if (func == AggFunc::llquantize) {
    if (p.factor < 2 || p.factor > std::numeric_limits<uint16_t>::max())
      return issue("D_LLQUANT_FACTORVAL", 1,
                   "llquantize() factor (argument #2) must be between 2 and 65535");
    if (p.low < 0 || p.low > std::numeric_limits<uint16_t>::max())
      return issue("D_LLQUANT_LMAGVAL", 2,
                   "llquantize() low magnitude (argument #3) must be an unsigned 16-bit quantity");
    if (p.high < 0 || p.high > std::numeric_limits<uint16_t>::max())
      return issue("D_LLQUANT_HMAGVAL", 3,
                   "llquantize() high magnitude (argument #4) must be an unsigned 16-bit "
                   "quantity");
    if (p.high < p.low)
      return issue("D_LLQUANT_HMAGVAL", 3,
                   "llquantize() high magnitude (argument #4) must be at least the low "
                   "magnitude (argument #3)");
    long double top = 1;
    for (int64_t i = 0; i <= p.high; i++) top *= static_cast<long double>(p.factor);
    if (top > static_cast<long double>(std::numeric_limits<uint64_t>::max()))
      return issue("D_LLQUANT_HMAGVAL", 3,
                   "llquantize() high magnitude (argument #4) overflows 64 bits; lower it");
    if (p.steps < 1)
      return issue("D_LLQUANT_STEPTYPE", 4, "llquantize() steps (argument #5) must be a positive integer constant");
    if (p.steps > std::numeric_limits<uint16_t>::max())
      return issue("D_LLQUANT_STEPVAL", 4,
                   "llquantize() steps (argument #5) must be a 16-bit quantity (at most 65535)");
    if (p.steps < p.factor && p.factor % p.steps != 0)
      return issue("D_LLQUANT_STEPVAL", 4,
                   "llquantize() steps (argument #5) must evenly divide the factor "
                   "(argument #2) when steps < factor");
    if (p.steps > p.factor) {
      if (p.steps % p.factor != 0)
        return issue("D_LLQUANT_STEPVAL", 4,
                     "llquantize() steps (argument #5) must be a multiple of the factor "
                     "(argument #2) when steps > factor");
      if (p.low == 0) {
        if ((p.factor * p.factor) % p.steps != 0)
          return issue("D_LLQUANT_STEPVAL", 4,
                       "llquantize() steps (argument #5) must evenly divide the square of the "
                       "factor (argument #2) when steps > factor and the low magnitude is 0");
      } else if (upow(static_cast<uint64_t>(p.factor), p.low + 1) %
                     static_cast<uint64_t>(p.steps) !=
                 0) {
        return issue("D_LLQUANT_STEPVAL", 4,
                     "llquantize() steps (argument #5) must evenly divide factor^(low "
                     "magnitude + 1) when steps > factor");
      }
    }
  }
  return std::nullopt;
}

size_t KeyHash::operator()(std::span<const Value> k) const noexcept {
  // FNV-1a over kinds, integer bits and string bytes: cheap for the common
  // single-integer or single-string key, no allocation.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](uint64_t x) {
    h ^= x;
    h *= 1099511628211ULL;
  };
  for (const Value& v : k) {
    mix(static_cast<uint64_t>(v.kind));
    if (v.kind == Value::Kind::string || v.kind == Value::Kind::stack) {
      for (unsigned char c : v.s) mix(c);
    } else {
      mix(v.u());
    }
  }
  return static_cast<size_t>(h);
}

bool KeyEqual::operator()(std::span<const Value> a, std::span<const Value> b) const noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (!(a[i] == b[i])) return false;
  }
  return true;
}

Aggregation::Aggregation(std::string name, AggFunc func, AggParams params)
    : name_(std::move(name)), func_(func), params_(params) {
  switch (func_) {
    case AggFunc::quantize: nbuckets_ = kQuantizeBuckets; break;
    case AggFunc::lquantize: nbuckets_ = lquantize_levels(params_) + 2; break;
    case AggFunc::llquantize: nbuckets_ = llq_shape(params_).nbins; break;
    default: nbuckets_ = 0; break;
  }
}

Result<Aggregation> Aggregation::make(std::string name, AggFunc func, AggParams params) {
  if (auto issue = check_params(func, params))
    return Error(issue->message, ErrorKind::usage);
  return Aggregation(std::move(name), func, params);
}

AggState Aggregation::fresh_state() const {
  AggState s;
  if (nbuckets_ > 0) s.buckets.assign(static_cast<size_t>(nbuckets_), 0);
  return s;
}

uint64_t SpaceBudget::key_bytes(std::span<const Value> key, bool by_length) const {
  uint64_t n = 0;
  for (const Value& v : key) {
    switch (v.kind) {
    case Value::Kind::integer:
    case Value::Kind::floating:
    case Value::Kind::symbol: n += 8; break;
    case Value::Kind::string: n += by_length ? (v.s.size() + 1 + 7) / 8 * 8 : strsize; break;
    case Value::Kind::stack: n += stack_bytes; break;
    }
  }
  return n;
}

std::string drop_line(uint64_t n, const char* tag, const char* what, const char* tail, bool tags) {
  if (n == 0) return {};
  return "probekit: " + (tags ? "[" + std::string(tag) + "] " : std::string()) + std::to_string(n) + " " + what +
         (n > 1 ? "s" : "") + tail + "\n";
}

std::string drop_report(const SpaceBudget& aggregations, const SpaceBudget& dynamic_variables, bool tags) {
  return drop_line(dynamic_variables.drops, "DTRACEDROP_DYNAMIC", "dynamic variable drop", "", tags) +
         drop_line(aggregations.drops, "DTRACEDROP_AGGREGATION", "aggregation drop", " on CPU 0", tags);
}

uint64_t Aggregation::entry_bytes(std::span<const Value> key) const {
  uint64_t value = 8;
  if (func_ == AggFunc::avg) value = 16;
  if (func_ == AggFunc::stddev) value = 32;
  if (nbuckets_ > 0) value = 8 * static_cast<uint64_t>(nbuckets_);
  uint64_t key_bytes = budget_ ? budget_->key_bytes(key, false) : 8 * key.size();
  return 32 + 8 + key_bytes + value;
}

void Aggregation::merge(std::span<const Value> key, const AggState& part) {
  auto it = map_.find(key);
  if (it == map_.end()) {
    if (budget_ && !budget_->charge(entry_bytes(key))) return;  // DTrace's aggregation drop
    it = map_.emplace(Key(key.begin(), key.end()), fresh_state()).first;
  }
  AggState& s = it->second;
  switch (func_) {
    case AggFunc::min:
    case AggFunc::max:
      if (part.count == 0) break;
      if (s.count == 0 || (func_ == AggFunc::min ? part.value < s.value : part.value > s.value)) s.value = part.value;
      s.count += part.count;
      break;
    case AggFunc::stddev: {
      s.count += part.count;
      s.value += part.value;
      const uint64_t lo = s.sumsq_lo + part.sumsq_lo;
      s.sumsq_hi += part.sumsq_hi + (lo < s.sumsq_lo ? 1 : 0);
      s.sumsq_lo = lo;
      break;
    }
    default:
      s.count += part.count;
      s.value += part.value;
      for (size_t i = 0; i < s.buckets.size() && i < part.buckets.size(); ++i) s.buckets[i] += part.buckets[i];
      break;
  }
}

void Aggregation::trunc_all() {
  if (budget_)
    for (const auto& e : map_) budget_->refund(entry_bytes(e.first));
  map_.clear();
}

void Aggregation::add_count(std::span<const Value> key, uint64_t n) {
  assert(func_ == AggFunc::count);
  auto it = map_.find(key);
  if (it == map_.end()) {
    if (budget_ && !budget_->charge(entry_bytes(key))) return;  // DTrace's aggregation drop
    it = map_.emplace(Key(key.begin(), key.end()), fresh_state()).first;
  }
  it->second.count += n;
}

void Aggregation::add(std::span<const Value> key, int64_t value, int64_t incr) {
  auto it = map_.find(key);
  if (it == map_.end()) {
    if (budget_ && !budget_->charge(entry_bytes(key))) return;  // DTrace's aggregation drop
    it = map_.emplace(Key(key.begin(), key.end()), fresh_state()).first;
  }
  AggState& s = it->second;
  switch (func_) {
    case AggFunc::count: s.count++; break;
    case AggFunc::sum: s.value += value; break;
    case AggFunc::avg:
      s.count++;
      s.value += value;
      break;
    case AggFunc::min:
      if (s.count == 0 || value < s.value) s.value = value;
      s.count++;
      break;
    case AggFunc::max:
      if (s.count == 0 || value > s.value) s.value = value;
      s.count++;
      break;
    case AggFunc::stddev: {
      s.count++;
      s.value += value;
      uint64_t a = abs_u64(value);
      U128 sq = static_cast<U128>(a) * a;
      U128 sum = ((static_cast<U128>(s.sumsq_hi) << 64) | s.sumsq_lo) + sq;
      s.sumsq_lo = static_cast<uint64_t>(sum);
      s.sumsq_hi = static_cast<uint64_t>(sum >> 64);
      break;
    }
    case AggFunc::quantize: s.buckets[static_cast<size_t>(quantize_bucket(value))] += incr; break;
    case AggFunc::lquantize:
      s.buckets[static_cast<size_t>(lquantize_bucket(params_, nbuckets_ - 2, value))] += incr;
      break;
    case AggFunc::llquantize:
      s.buckets[static_cast<size_t>(llq_bucket(llq_shape(params_), value))] += incr;
      break;
  }
}

void Aggregation::clear() {
  // DTrace zeroes the data and keeps the keys; a cleared min/max starts
  // over at the next value instead of comparing against the zero.
  for (auto& [key, s] : map_) {
    s.count = 0;
    s.value = 0;
    s.sumsq_lo = s.sumsq_hi = 0;
    std::fill(s.buckets.begin(), s.buckets.end(), 0);
  }
}

void Aggregation::trunc(int64_t n) {
  std::vector<const Entry*> order = sorted(AggSort{});  // ascending, whatever the print order
  size_t keep = static_cast<size_t>(n < 0 ? -n : n);
  if (keep >= order.size()) return;
  std::vector<Key> doomed;
  if (n >= 0) {
    // Keep the largest: drop the first size-keep of the ascending order.
    for (size_t i = 0; i < order.size() - keep; i++) doomed.push_back(order[i]->first);
  } else {
    for (size_t i = keep; i < order.size(); i++) doomed.push_back(order[i]->first);
  }
  for (const Key& k : doomed) {
    if (budget_) budget_->refund(entry_bytes(k));
    map_.erase(k);
  }
}

const AggState* Aggregation::find(std::span<const Value> key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

int Aggregation::bucket_count() const { return nbuckets_; }

int64_t Aggregation::scalar(const AggState& s) const {
  switch (func_) {
    case AggFunc::count: return s.count / normal_;
    case AggFunc::sum:
    case AggFunc::min:
    case AggFunc::max: return s.value / normal_;
    case AggFunc::avg: return s.count ? s.value / normal_ / s.count : 0;
    case AggFunc::stddev: return static_cast<int64_t>(stddev_of(s, normal_));
    default: break;
  }
  // Distributions: DTrace's weighted sum.
  long double total = 0;
  for (int i = 0; i < nbuckets_; i++) {
    long double w = 0;
    if (func_ == AggFunc::quantize) {
      w = static_cast<long double>(quantize_bucket_value(i));
    } else if (func_ == AggFunc::lquantize) {
      int levels = nbuckets_ - 2;
      w = i == 0 ? params_.lo - 1
                 : (i == levels + 1 ? params_.lo + levels * params_.step + 1
                                    : params_.lo + (i - 1) * params_.step);
    } else {
      LlqShape sh = llq_shape(params_);
      int k = i - sh.bin0;
      w = k == 0 ? 0
                 : (k > 0 ? static_cast<long double>(llq_lower_edge(sh, k))
                          : -static_cast<long double>(llq_lower_edge(sh, -k)));
    }
    total += w * static_cast<long double>(s.buckets[static_cast<size_t>(i)]);
  }
  return static_cast<int64_t>(total);
}

int Aggregation::compare_values(const AggState& a, const AggState& b) const {
  switch (func_) {
    case AggFunc::count: return cmp3i(a.count, b.count);
    case AggFunc::sum:
    case AggFunc::min:
    case AggFunc::max: return cmp3i(a.value, b.value);
    case AggFunc::avg:
      return cmp3i(a.count ? a.value / a.count : 0, b.count ? b.value / b.count : 0);
    case AggFunc::stddev: return cmp3i(stddev_of(a, 1), stddev_of(b, 1));
    default: break;
  }
  // Distributions: the sum of bucket value * count, then the weight at zero.
  auto weigh = [&](const AggState& s) {
    DistWeight w{0, 0};
    for (int i = 0; i < nbuckets_; i++) {
      long double v;
      bool is_zero = false;
      int64_t c = s.buckets[static_cast<size_t>(i)];
      if (func_ == AggFunc::quantize) {
        v = static_cast<long double>(quantize_bucket_value(i));
        is_zero = i == kQuantizeZeroBucket;
      } else if (func_ == AggFunc::lquantize) {
        int levels = nbuckets_ - 2;
        int64_t base = i == 0 ? params_.lo - 1
                              : (i == levels + 1 ? params_.lo + levels * params_.step + 1
                                                 : params_.lo + (i - 1) * params_.step);
        v = static_cast<long double>(base);
        is_zero = base == 0;
      } else {
        LlqShape sh = llq_shape(params_);
        int k = i - sh.bin0;
        v = k == 0 ? 0
                   : (k > 0 ? static_cast<long double>(llq_lower_edge(sh, k))
                            : -static_cast<long double>(llq_lower_edge(sh, -k)));
        is_zero = k == 0;
      }
      w.total += v * static_cast<long double>(c);
      if (is_zero) w.zero = c;
    }
    return w;
  };
  DistWeight wa = weigh(a);
  DistWeight wb = weigh(b);
  if (int c = cmp3(wa.total, wb.total)) return c;
  return cmp3i(wa.zero, wb.zero);
}

int Aggregation::compare_keys(const Key& a, const Key& b, size_t from) {
  if (a.size() != b.size()) return cmp3i(a.size(), b.size());
  const size_t n = a.size();
  if (from >= n) from = 0;  // dt_aggregate_keycmp: a position past the key is 0
  for (size_t i = 0; i < n; i++) {
    const size_t at = (from + i) % n;
    if (int c = compare_value(a[at], b[at])) return c;
  }
  return 0;
}

std::vector<const Aggregation::Entry*> Aggregation::sorted() const { return sorted(sort_ ? *sort_ : AggSort{}); }

std::vector<const Aggregation::Entry*> Aggregation::sorted(const AggSort& order) const {
  std::vector<const Entry*> out;
  out.reserve(map_.size());
  for (const auto& e : map_) out.push_back(&e);
  std::sort(out.begin(), out.end(), [&](const Entry* x, const Entry* y) {
    int c = 0;
    if (order.by_key) c = compare_keys(x->first, y->first, order.keypos);
    if (c == 0) c = compare_values(x->second, y->second);
    if (c == 0 && !order.by_key) c = compare_keys(x->first, y->first, order.keypos);
    return order.reverse ? c > 0 : c < 0;
  });
  return out;
}

std::string Aggregation::print_key(const Key& key) {
  std::string out;
  for (const Value& v : key) {
    switch (v.kind) {
      case Value::Kind::floating: out += sfmt(" %16g", v.as_double()); break;
      case Value::Kind::integer:
        switch (v.size) {
          case 1: out += sfmt(" %3d", static_cast<int>(static_cast<uint8_t>(v.i))); break;
          case 2: out += sfmt(" %5d", static_cast<int>(static_cast<uint16_t>(v.i))); break;
          case 4: out += sfmt(" %8d", static_cast<int>(static_cast<int32_t>(v.i))); break;
          default: out += sfmt(" %16lld", static_cast<long long>(v.i)); break;
        }
        break;
      case Value::Kind::string: out += sfmt("  %-50s", v.s.c_str()); break;
      case Value::Kind::symbol:
        out += sfmt("  %-50s", v.s.empty() ? hex(v.u()).c_str() : v.s.c_str());
        break;
      case Value::Kind::stack:
        out += "\n";
        for (const std::string& frame : split(v.s, '\n')) {
          if (frame.empty()) continue;
          out += std::string(kStackIndent, ' ') + frame + "\n";
        }
        break;
    }
  }
  return out;
}

std::string Aggregation::print_value(const AggState& s) const {
  switch (func_) {
    case AggFunc::quantize: return print_quantize(s.buckets, normal_);
    case AggFunc::lquantize: return print_lquantize(s.buckets, params_, normal_);
    case AggFunc::llquantize: return print_llquantize(s.buckets, params_, normal_);
    case AggFunc::stddev:
      return sfmt(" %16llu", static_cast<unsigned long long>(stddev_of(s, normal_)));
    default: return sfmt(" %16lld", static_cast<long long>(scalar(s)));
  }
}

std::string Aggregation::print() const {
  std::string out;
  for (const Entry* e : sorted()) {
    out += print_key(e->first);
    out += print_value(e->second);
    out += "\n";
  }
  return out;
}

namespace {

AggState zero_state(const Aggregation& a) {
  AggState s;
  if (a.bucket_count() > 0) s.buckets.assign(static_cast<size_t>(a.bucket_count()), 0);
  return s;
}

}  // namespace

std::vector<Key> joined_keys(std::span<const Aggregation* const> aggs) {
  std::vector<Key> keys;
  std::unordered_map<Key, bool, KeyHash, KeyEqual> seen;
  for (const Aggregation* a : aggs) {
    for (const Aggregation::Entry* e : a->sorted()) {
      if (seen.emplace(e->first, true).second) keys.push_back(e->first);
    }
  }
  std::vector<AggState> zero;
  for (const Aggregation* a : aggs) zero.push_back(zero_state(*a));
  auto state = [&](size_t j, const Key& k) -> const AggState& {
    const AggState* s = aggs[j]->find(k);
    return s ? *s : zero[j];
  };
  // dt_aggregate_bundlecmp: each aggregation's value in turn (from the
  // aggsortpos'th), then the key; or the key first under aggsortkey.
  const AggSort order = aggs[0]->sort() ? *aggs[0]->sort() : AggSort{};
  const size_t first = order.valpos < aggs.size() ? order.valpos : 0;
  std::sort(keys.begin(), keys.end(), [&](const Key& x, const Key& y) {
    int c = order.by_key ? Aggregation::compare_keys(x, y, order.keypos) : 0;
    for (size_t i = 0; c == 0 && i < aggs.size(); i++) {
      const size_t j = (first + i) % aggs.size();
      c = aggs[j]->compare_values(state(j, x), state(j, y));
    }
    if (c == 0 && !order.by_key) c = Aggregation::compare_keys(x, y, order.keypos);
    return order.reverse ? c > 0 : c < 0;
  });
  return keys;
}

std::string print_joined(std::span<const Aggregation* const> aggs) {
  if (aggs.empty()) return "";
  if (aggs.size() == 1) return aggs[0]->print();
  std::string out;
  for (const Key& k : joined_keys(aggs)) {
    out += Aggregation::print_key(k);
    for (const Aggregation* a : aggs) {
      const AggState* s = a->find(k);
      out += a->print_value(s ? *s : zero_state(*a));
    }
    out += "\n";
  }
  return out;
}

std::string printa_default(std::span<const Aggregation* const> aggs) {
  return "\n" + print_joined(aggs);
}

std::string print_at_exit(const Aggregation& agg) {
  if (agg.empty()) return "";
  return "\n" + agg.print();
}

namespace {

std::string json_key(const Key& key) {
  std::vector<std::string> parts;
  for (const Value& v : key) {
    switch (v.kind) {
      case Value::Kind::integer:
        parts.push_back(v.is_signed ? std::to_string(v.i) : std::to_string(v.u()));
        break;
      case Value::Kind::symbol: parts.push_back(v.s.empty() ? hex(v.u()) : v.s); break;
      default: parts.push_back(v.s); break;
    }
  }
  return json_quote(join(parts, ","));
}

std::string bucket_json(std::optional<int64_t> lo, std::optional<int64_t> hi, int64_t count) {
  std::string out = "{";
  if (lo) out += "\"min\":" + std::to_string(*lo) + ",";
  if (hi) out += "\"max\":" + std::to_string(*hi) + ",";
  return out + "\"count\":" + std::to_string(count) + "}";
}

}  // namespace

std::pair<std::optional<int64_t>, std::optional<int64_t>> Aggregation::bucket_range(int i) const {
  std::optional<int64_t> lo, hi;
  if (func_ == AggFunc::quantize) {
    int64_t v = quantize_bucket_value(i);
    if (i < kQuantizeZeroBucket) {
      lo = i == 0 ? std::numeric_limits<int64_t>::min() : quantize_bucket_value(i - 1) + 1;
      hi = v;
    } else if (i == kQuantizeZeroBucket) {
      lo = hi = 0;
    } else {
      lo = v;
      hi = i == kQuantizeBuckets - 1 ? std::numeric_limits<int64_t>::max() : quantize_bucket_value(i + 1) - 1;
    }
  } else if (func_ == AggFunc::lquantize) {
    int levels = nbuckets_ - 2;
    if (i == 0) {
      hi = params_.lo - 1;
    } else if (i == levels + 1) {
      lo = params_.lo + levels * params_.step;
    } else {
      lo = params_.lo + (i - 1) * params_.step;
      hi = *lo + params_.step - 1;
    }
  } else if (func_ == AggFunc::llquantize) {
    LlqShape sh = llq_shape(params_);
    int k = i - sh.bin0;
    auto edge = [&](int64_t kk) { return static_cast<int64_t>(llq_lower_edge(sh, kk)); };
    if (k == 0) {
      int64_t low = static_cast<int64_t>(upow(sh.factor, sh.lmag));
      lo = -(low - 1);
      hi = low - 1;
    } else if (k > 0) {
      lo = edge(k);
      if (k <= sh.npos) hi = edge(k + 1) - 1;
    } else {
      hi = -edge(-k);
      if (-k <= sh.npos) lo = -(edge(-k + 1) - 1);
    }
  }
  return {lo, hi};
}

std::string Aggregation::json() const {
  const char* type = "map";
  bool dist = nbuckets_ > 0;
  bool stats = func_ == AggFunc::avg || func_ == AggFunc::stddev;
  if (dist) type = "hist";
  if (stats) type = "stats";
  auto value_json = [&](const AggState& s) -> std::string {
    if (stats) {
      std::string out = "{\"count\":" + std::to_string(s.count / normal_) +
                        ",\"average\":" + std::to_string(s.count ? s.value / normal_ / s.count : 0) +
                        ",\"total\":" + std::to_string(s.value / normal_);
      if (func_ == AggFunc::stddev) out += ",\"stddev\":" + std::to_string(stddev_of(s, normal_));
      return out + "}";
    }
    if (!dist) return std::to_string(scalar(s));
    std::vector<std::string> rows;
    for (int i = 0; i < nbuckets_; i++) {
      int64_t c = s.buckets[static_cast<size_t>(i)];
      if (c == 0) continue;
      c /= normal_;
      auto [lo, hi] = bucket_range(i);
      rows.push_back(bucket_json(lo, hi, c));
    }
    return "[" + join(rows, ",") + "]";
  };
  std::string data;
  std::vector<const Entry*> entries = sorted();
  bool keyless = entries.size() == 1 && entries[0]->first.empty();
  if (keyless) {
    data = value_json(entries[0]->second);
  } else {
    std::vector<std::string> items;
    for (const Entry* e : entries) items.push_back(json_key(e->first) + ":" + value_json(e->second));
    data = "{" + join(items, ",") + "}";
  }
  return std::string("{\"type\":\"") + type + "\",\"data\":{" + json_quote("@" + name_) + ":" +
         data + "}}";
}

// --- folded stacks and OpenMetrics -------------------------------------------------

namespace {

// One frame of a folded line: no ';' (the separator) and no newline.
std::string folded_frame(std::string f) {
  for (char& c : f)
    if (c == ';' || c == '\n') c = ':';
  return f;
}

// "a.out`work+0x1a" -> "a.out`work"; "a.out`mix [inlined]" -> "a.out`mix_[i]".
std::string stack_frame_name(std::string f) {
  constexpr std::string_view kInlined = " [inlined]";
  if (f.size() > kInlined.size() && f.compare(f.size() - kInlined.size(), kInlined.size(), kInlined) == 0)
    return folded_frame(f.substr(0, f.size() - kInlined.size()) + "_[i]");
  auto plus = f.rfind("+0x");
  if (plus != std::string::npos && plus > 0 && plus + 3 < f.size() &&
      std::all_of(f.begin() + static_cast<std::ptrdiff_t>(plus) + 3, f.end(),
                  [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }))
    f.resize(plus);
  return folded_frame(std::move(f));
}

std::string value_text(const Value& v) {
  switch (v.kind) {
    case Value::Kind::integer: return v.is_signed ? std::to_string(v.i) : std::to_string(v.u());
    case Value::Kind::symbol: return v.s.empty() ? hex(v.u()) : v.s;
    default: return v.s;
  }
}

}  // namespace

std::string Aggregation::folded() const {
  std::map<std::string, int64_t> lines;  // frames -> value, merged after offsets are dropped
  for (const auto& [key, state] : map_) {
    int64_t value = 0;
    if (nbuckets_ > 0) {
      for (int64_t c : state.buckets) value += c;
      value /= normal_;
    } else if (func_ == AggFunc::stddev) {
      value = static_cast<int64_t>(stddev_of(state, normal_));
    } else {
      value = scalar(state);
    }
    std::vector<std::string> frames;
    if (key.empty()) frames.push_back("@" + name_);
    for (const Value& v : key) {
      if (v.kind != Value::Kind::stack) {
        frames.push_back(folded_frame(value_text(v)));
        continue;
      }
      std::vector<std::string> stack;
      for (const std::string& f : split(v.s, '\n'))
        if (!f.empty()) stack.push_back(stack_frame_name(f));
      frames.insert(frames.end(), stack.rbegin(), stack.rend());
    }
    lines[join(frames, ";")] += value;
  }
  std::string out;
  for (const auto& [frames, value] : lines)
    if (value > 0) out += frames + " " + std::to_string(value) + "\n";
  return out;
}

namespace {

std::string metric_name(const std::string& agg) {
  if (agg.empty()) return "probekit_agg";
  std::string n = "probekit_";
  for (char c : agg) n += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return n;
}

// A label value: backslash, double quote and newline escaped.
std::string label_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// {key0="..",key1=".."} plus `extra` (le="..") when given; "" for none.
std::string labels(const Key& key, const std::string& extra = "") {
  std::vector<std::string> parts;
  for (size_t i = 0; i < key.size(); ++i)
    parts.push_back("key" + std::to_string(i) + "=\"" + label_value(value_text(key[i])) + "\"");
  if (!extra.empty()) parts.push_back(extra);
  return parts.empty() ? "" : "{" + join(parts, ",") + "}";
}

}  // namespace

std::string openmetrics(std::span<const Aggregation* const> aggs) {
  std::string out;
  for (const Aggregation* a : aggs) {
    const std::string name = metric_name(a->name());
    const std::string help = "# HELP " + name + " @" + a->name() + " = " + to_string(a->func()) + "()\n";
    std::vector<const Aggregation::Entry*> entries = a->sorted();
    switch (a->func()) {
      case AggFunc::count:
      case AggFunc::sum:
        out += "# TYPE " + name + " counter\n" + help;
        for (const auto* e : entries)
          out += name + "_total" + labels(e->first) + " " + std::to_string(a->scalar(e->second)) + "\n";
        break;
      case AggFunc::avg:
      case AggFunc::min:
      case AggFunc::max:
      case AggFunc::stddev:
        out += "# TYPE " + name + " gauge\n" + help;
        for (const auto* e : entries) {
          int64_t v = a->func() == AggFunc::stddev ? static_cast<int64_t>(stddev_of(e->second, a->normal()))
                                                    : a->scalar(e->second);
          out += name + labels(e->first) + " " + std::to_string(v) + "\n";
        }
        break;
      case AggFunc::quantize:
      case AggFunc::lquantize:
      case AggFunc::llquantize: {
        out += "# TYPE " + name + " histogram\n" + help;
        // The buckets every key shows: quantize's 127 narrowed to the filled range.
        int first = 0, last = a->bucket_count() - 1;
        if (a->func() == AggFunc::quantize) {
          first = a->bucket_count();
          last = -1;
          for (const auto* e : entries)
            for (int i = 0; i < a->bucket_count(); ++i)
              if (e->second.buckets[static_cast<size_t>(i)] != 0) {
                first = std::min(first, i);
                last = std::max(last, i);
              }
        }
        for (const auto* e : entries) {
          int64_t cumulative = 0;
          for (int i = 0; i < a->bucket_count(); ++i) {
            cumulative += e->second.buckets[static_cast<size_t>(i)] / a->normal();
            auto hi = a->bucket_range(i).second;
            if (i < first || i > last || !hi) continue;
            out += name + "_bucket" + labels(e->first, "le=\"" + std::to_string(*hi) + "\"") + " " +
                   std::to_string(cumulative) + "\n";
          }
          out += name + "_bucket" + labels(e->first, "le=\"+Inf\"") + " " + std::to_string(cumulative) + "\n";
          out += name + "_count" + labels(e->first) + " " + std::to_string(cumulative) + "\n";
        }
        break;
      }
    }
  }
  return out + "# EOF\n";
}

}  // namespace probekit::d
