// d/aggregation.h — D aggregations: storage, the per-hit update, and the
// operations and output DTrace defines on them.
//
// NOTE for the src/d CMake owner: add aggregation.cpp and format.cpp to the
// pk_d library, and tests/unit/d/aggregation_test.cpp and format_test.cpp to
// the d unit test (both owned by the aggregation/format engineer).
//
// An Aggregation is one `@name`: a hash map from a key tuple to the running
// state of one aggregating function. The one idea: the state kept per key is
// exactly what DTrace keeps (count/sum/sum of squares as a 128-bit integer,
// quantize buckets as DTrace numbers them), so that what we print at exit is
// byte-for-byte what dtrace(1) prints: same bucket edges, same rounding of
// `@` bars, same integer division for avg, same integer sqrt for stddev.
//
// add() sits on the per-hit path. It takes the key as a span of Values and
// looks it up without building a Key (heterogeneous lookup), so a hit on an
// existing key never allocates; a new key allocates once.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "d/value.h"
#include "util/result.h"

namespace probekit::d {

enum class AggFunc : uint8_t {
  count,
  sum,
  avg,
  min,
  max,
  stddev,
  quantize,
  lquantize,
  llquantize,
};

const char* to_string(AggFunc f);  // "count", "lquantize", ...

// Arguments fixed at the aggregation's first use: lquantize(v, lo, hi, step),
// llquantize(v, factor, low, high, steps). Unused for the other functions.
struct AggParams {
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t step = 1;
  int64_t factor = 0;
  int64_t low = 0;
  int64_t high = 0;
  int64_t steps = 0;
};

// DTrace's power-of-two quantize buckets: 127 of them, bucket 63 holds 0,
// bucket 63+k holds [2^(k-1), 2^k), bucket 63-k holds (-2^k, -2^(k-1)].
inline constexpr int kQuantizeBuckets = 127;
inline constexpr int kQuantizeZeroBucket = 63;
int64_t quantize_bucket_value(int i);  // lower edge printed for bucket i
int quantize_bucket(int64_t v);

// The running state for one key. Which fields matter depends on AggFunc.
struct AggState {
  int64_t count = 0;         // count(); number of values for avg/stddev
  int64_t value = 0;         // sum/min/max; the sum for avg/stddev
  uint64_t sumsq_lo = 0;     // stddev: 128-bit sum of squares
  uint64_t sumsq_hi = 0;
  std::vector<int64_t> buckets;  // quantize family
};

struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::span<const Value> k) const noexcept;
  size_t operator()(const Key& k) const noexcept { return (*this)(std::span<const Value>(k)); }
};
struct KeyEqual {
  using is_transparent = void;
  bool operator()(std::span<const Value> a, std::span<const Value> b) const noexcept;
  bool operator()(const Key& a, const Key& b) const noexcept {
    return (*this)(std::span<const Value>(a), std::span<const Value>(b));
  }
  bool operator()(const Key& a, std::span<const Value> b) const noexcept {
    return (*this)(std::span<const Value>(a), b);
  }
  bool operator()(std::span<const Value> a, const Key& b) const noexcept {
    return (*this)(a, std::span<const Value>(b));
  }
};

// A problem with lquantize/llquantize's constant arguments, in dtrace(1)'s
// terms: id (D_LQUANT_LIMVAL, D_LLQUANT_STEPVAL, ...), the 0-based argument
// index of the call that is wrong, and the message.
struct AggParamIssue {
  std::string id;
  int arg = 0;
  std::string message;
};
std::optional<AggParamIssue> check_params(AggFunc func, const AggParams& params);

// DTrace's space limits, aggsize and dynvarsize: a byte budget that every
// new aggregation key (aggsize, shared by all aggregations, as the per-CPU
// aggregation buffer is) or dynamic variable (dynvarsize: associative array
// elements and self-> variables) is charged against. An entry that does not
// fit is dropped and counted; entries already stored keep updating, and
// freeing one (trunc(), storing 0 in an array element) gives its bytes back.
// The bytes are DTrace's record sizes, so the same program drops at about
// the same number of entries:
//   aggregation key  32 (dtrace_aggkey_t) + 8 (aggregation id) + the key
//                    + the value: 8 for count/sum/min/max, 16 avg, 32
//                    stddev, 8 per bucket for the quantize family
//   dynamic variable 32 (dtrace_dynvar_t) + 16 per key (dtrace_key_t; a
//                    self-> variable has two: the variable and the thread)
//                    + the key's by-reference data + the value (8, or
//                    strsize for a string)
//   key elements     8 for an integer; strsize for a string in an
//                    aggregation key (DTrace's fixed-size records), its
//                    length + 1 rounded up to 8 in a dynamic variable key;
//                    8 per frame (ustackframes) + 8 for a stack
// Unlike DTrace, no buffer is switched and drained by the consumer every
// aggrate, so aggsize bounds everything the program aggregates at once.
struct SpaceBudget {
  uint64_t limit = 0;  // bytes; 0: unlimited
  uint64_t used = 0;
  uint64_t drops = 0;
  uint64_t strsize = 256;
  uint64_t stack_bytes = 808;  // 8 * (ustackframes + 1)

  // Takes `bytes` from the budget, or counts a drop and returns false.
  bool charge(uint64_t bytes) {
    if (limit != 0 && (bytes > limit || used > limit - bytes)) {
      ++drops;
      return false;
    }
    used += bytes;
    return true;
  }
  void refund(uint64_t bytes) { used -= bytes < used ? bytes : used; }
  // Bytes of a key tuple: strings at strsize (aggregations) or at their
  // length (dynamic variables, by_length).
  uint64_t key_bytes(std::span<const Value> key, bool by_length) const;
};

// How entries sort when they print: dtrace's aggsortkey (by key first),
// aggsortkeypos (the key element compared first, then the ones after it,
// wrapping around), aggsortpos (which aggregation of a joined printa()
// sorts first) and aggsortrev (descending), as dt_aggregate_qsort() does.
struct AggSort {
  bool by_key = false;
  size_t keypos = 0;
  size_t valpos = 0;
  bool reverse = false;
};

// "dtrace: 3 aggregation drops on CPU 0" and "... 2 dynamic variable drops",
// dt_drop.c's wording after the "probekit: " prefix; "" when there were none.
// With `tags` (-x droptags), each line carries dtrace's drop tag after the
// prefix: "[DTRACEDROP_AGGREGATION] 3 aggregation drops on CPU 0".
std::string drop_report(const SpaceBudget& aggregations, const SpaceBudget& dynamic_variables, bool tags = false);
// One such line ("" when n is 0): "N WHATs TAIL".
std::string drop_line(uint64_t n, const char* tag, const char* what, const char* tail, bool tags);

class Aggregation {
public:
  using Map = std::unordered_map<Key, AggState, KeyHash, KeyEqual>;
  using Entry = Map::value_type;

  // Validates lquantize/llquantize parameters the way dtrace(1) does (the
  // compiler reports the message at the call's position).
  static Result<Aggregation> make(std::string name, AggFunc func, AggParams params = {});

  const std::string& name() const { return name_; }  // without '@'; "" for `@`
  AggFunc func() const { return func_; }
  const AggParams& params() const { return params_; }

  // One hit: `@name[key] = func(value[, incr])`. count() ignores `value`;
  // `incr` is the optional weight of quantize/lquantize/llquantize.
  void add(std::span<const Value> key, int64_t value = 0, int64_t incr = 1);
  // n hits of a count() at once (hits counted in the target by a jump probe).
  void add_count(std::span<const Value> key, uint64_t n);

  // Folds another part's state for `key` in (the agent's per-thread parts,
  // d/agent_codegen.h): counts, sums and buckets add, min/max compare.
  void merge(std::span<const Value> key, const AggState& part);

  // clear(@): zero every value, keep the keys.
  void clear();
  // trunc(@, n): keep the n entries with the largest values (n < 0: the |n|
  // smallest), in DTrace's value order. trunc(@) == trunc_all().
  void trunc(int64_t n);
  void trunc_all();
  // Charges each new key against `budget` (DTrace's aggsize); null: none.
  void set_budget(SpaceBudget* budget) { budget_ = budget; }
  // What a new key costs, by SpaceBudget's rule.
  uint64_t entry_bytes(std::span<const Value> key) const;
  // normalize(@, n): printed values are divided by n. denormalize(@).
  void normalize(int64_t n) { normal_ = n > 0 ? n : 1; }
  void denormalize() { normal_ = 1; }
  int64_t normal() const { return normal_; }

  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  const AggState* find(std::span<const Value> key) const;

  // The scalar DTrace prints and sorts by for count/sum/avg/min/max/stddev,
  // normalized. For the quantize family: the weighted sum DTrace sorts by,
  // truncated to an integer.
  int64_t scalar(const AggState& s) const;
  // Bucket count of the quantize family for this aggregation's params.
  int bucket_count() const;

  // Entries in DTrace's print order: value ascending, ties by key
  // ascending, or as the AggSort set here says (null: that default).
  std::vector<const Entry*> sorted() const;
  std::vector<const Entry*> sorted(const AggSort& order) const;
  void set_sort(const AggSort* sort) { sort_ = sort; }
  const AggSort* sort() const { return sort_; }
  // DTrace's comparisons (negative, 0, positive). Keys compare element by
  // element from element `from` (wrapping around; 0 when past the end).
  int compare_values(const AggState& a, const AggState& b) const;
  static int compare_keys(const Key& a, const Key& b, size_t from = 0);

  // Printed as dtrace(1) prints an aggregation at exit or on printa(@name):
  // one line per key (keys " %-50s"/" %16lld"-style, then the value), or the
  // key line then the ASCII distribution for the quantize family. No leading
  // blank line: printa_default() and print_at_exit() add DTrace's.
  std::string print() const;
  // One entry's value as printa's `%@` conversion and the default layout
  // print it: " %16lld"-style for scalars, the distribution block (starting
  // with "\n") for the quantize family.
  std::string print_value(const AggState& s) const;

  // bpftrace `-f json` shapes: {"type":"map"|"hist"|"stats","data":{"@name":...}}.
  std::string json() const;

  // Folded stacks, the format flamegraph.pl, speedscope and inferno read
  // (`-f folded`, `-x aggfmt=folded`): one "root;...;leaf N" line per key,
  // the key's parts as frames in order, a stack's frames outermost first
  // without their "+0x.." offsets (so samples at different offsets of a
  // function merge, as stackcollapse.pl does), an inlined frame marked
  // "_[i]" (flamegraph.pl's annotation). N is the printed value (count,
  // sum, ...; the number of values for the quantize family); lines sort by
  // their frames; keys with a value <= 0 are left out (a flame graph has no
  // negative widths). A key-less aggregation is one frame, "@name".
  std::string folded() const;

  // Inclusive value bounds of bucket i of the quantize family (nullopt: an
  // open end), as DTrace labels it and bpftrace's JSON gives it.
  std::pair<std::optional<int64_t>, std::optional<int64_t>> bucket_range(int i) const;

  // The key as DTrace's default layout prints it: "  %-50s" for strings,
  // " %16lld"/" %8d"/" %5d"/" %3d" by integer width, stacks one frame per line.
  static std::string print_key(const Key& key);

private:
  Aggregation(std::string name, AggFunc func, AggParams params);
  AggState fresh_state() const;

  std::string name_;
  AggFunc func_;
  AggParams params_;
  int64_t normal_ = 1;
  int nbuckets_ = 0;
  Map map_;
  SpaceBudget* budget_ = nullptr;
  const AggSort* sort_ = nullptr;
};

// Prints several aggregations joined on their keys, as `printa(@a, @b)`
// without a format does: each key once, then every aggregation's value
// (0 where a key is missing), sorted by the first aggregation.
std::string print_joined(std::span<const Aggregation* const> aggs);

// The keys of several aggregations, each once, in print_joined's order
// (shared with printa with a format).
std::vector<Key> joined_keys(std::span<const Aggregation* const> aggs);

// What the D statement `printa(@a[, @b...])` without a format prints: a
// blank line (always, as dt_consume.c does), then print_joined().
std::string printa_default(std::span<const Aggregation* const> aggs);
// The aggregations as OpenMetrics text (the Prometheus exposition format,
// `-x metrics=`), ending with "# EOF": one metric family per aggregation,
// named "probekit_NAME" ("probekit_agg" for `@`), its keys as labels
// key0, key1, ... (stacks with "\n" between frames). count() and sum() are
// counters (samples NAME_total), avg/min/max/stddev gauges, the quantize
// family histograms: cumulative NAME_bucket{le="U"} for each bucket's
// inclusive upper bound U from the lowest to the highest bucket any key
// has filled (lquantize/llquantize: every bucket), le="+Inf", NAME_count.
// DTrace keeps no sum of a distribution's values, so there is no NAME_sum.
std::string openmetrics(std::span<const Aggregation* const> aggs);

// What is printed at exit for an aggregation no printa() has printed: a
// blank line then print(); nothing for an empty aggregation.
std::string print_at_exit(const Aggregation& agg);

}  // namespace probekit::d
