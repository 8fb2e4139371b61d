// trace/fetch.h — evaluating fetch-args at a hit, as ftrace prints them.
//
// A FetchArg (trace/definition.h) is a base value and a chain of
// dereferences. fetch() walks it against a HitContext and yields a
// FetchedValue: a number with its type, a string, a symbolized address, or a
// fault. A memory read that fails is not an error of the definition: like
// ftrace, the argument prints "(fault)" and the other arguments still print.
//
// Text follows the kernel's print_type_* functions: u* "%llu", s* "%lld",
// x* "0x%llx" of the value truncated to the type's size, string as "\"%s\""
// (f32/f64, which ftrace lacks: the shortest text that reads back as the
// same float/double, "%g"-like: "2.5", "1e+100", "-0", "inf", "nan"; JSON
// a number, null for inf and nan, which JSON cannot spell)
// (we additionally escape control characters and bytes >= 0x7f as \n, \t,
// \xNN so that one hit stays one line), symbol via HitContext::symbolize
// ("func+0x10"), bitfields in decimal. JSON: numbers are JSON numbers,
// strings and symbols JSON strings, faults null.
//
// EventFetcher is what a front end holds per definition: it resolves
// `$arg:NAME` once through a resolver (DWARF lives in another layer), caches
// `@SYMBOL` addresses, and fetches every argument of a hit in order:
//
//   auto fetcher = trace::EventFetcher::make(def, resolver);   // Result
//   probe.pre_handler = [f = std::move(*fetcher)](HitContext& ctx) mutable {
//     for (auto& a : f.fetch_all(ctx)) ... a.name, a.value.text(), a.value.json()
//   };
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "probekit/hit_context.h"
#include "probekit/probekit.h"
#include "trace/definition.h"
#include "util/result.h"

namespace probekit::trace {

// The kernel's MAX_STRING_SIZE is PATH_MAX; strings are cut there.
inline constexpr size_t kMaxStringSize = 4096;

// Where a named parameter lives at the function's entry, as the DWARF layer
// reports it: in a register, in memory at [register + offset] (a stack
// argument: rsp + 8 for the first at entry), or in an SSE register (a
// float/double: its low 4/8 bytes).
// A USDT argument may also be a constant (immediate: "4@$5").
enum class ArgLocationKind { in_register, in_memory, in_xmm, immediate };

struct ArgLocation {
  ArgLocationKind kind = ArgLocationKind::in_register;
  RegisterRef reg;                  // register_from_dwarf() maps DWARF numbers
  int64_t offset = 0;               // in_memory only
  std::optional<FetchType> type;    // from the parameter's DWARF type (char* -> string)
  uint8_t xmm = 0;                  // in_xmm only: 0..15
  uint64_t value = 0;               // immediate only
};

using ArgResolver = std::function<Result<ArgLocation>(const std::string& name)>;

struct FetchedValue {
  enum class Kind { number, string, symbol, fault };
  Kind kind = Kind::fault;
  FetchType type;         // number: how to print bits
  uint64_t bits = 0;      // number; symbol: the address
  std::string str;        // string contents; symbol text; fault: why

  std::string text() const;  // as ftrace prints it
  std::string json() const;  // a JSON literal
  // The numeric value (sign-extended for s*), for typed consumers; nullopt
  // for strings and faults.
  std::optional<uint64_t> number() const;
};

// Symbol addresses by name, filled lazily. Cleared when the target execs.
// nullopt caches a failed lookup, so a missing symbol costs one lookup.
using SymbolCache = std::map<std::string, std::optional<uint64_t>>;

// Fetches one argument. Faulting reads give Kind::fault; errors are for
// things that can never work: `$arg:NAME` not resolved ("needs debug info"),
// an `@SYMBOL` the target does not have.
Result<FetchedValue> fetch(const FetchArg& arg, HitContext& ctx, SymbolCache* cache = nullptr);

// The value formatted as ftrace prints it ("0x10", "\"hello\"", "(fault)").
Result<std::string> evaluate(const FetchArg& arg, HitContext& ctx);
// The typed value (for JSON and D), an error for strings and faults.
Result<uint64_t> evaluate_value(const FetchArg& arg, HitContext& ctx);

// Lowers `$arg:NAME` to a register or a dereference using the resolver.
// Without a resolver this is the "needs debug info" error.
Status resolve_arg_names(Definition& def, const ArgResolver& resolver);

// What the in-process agent must read at a hit so that fetch() can run
// later on the record (Probe::capture, the jump backend): one read per
// argument that touches memory; registers, $comm and immediates need none.
// `@SYMBOL` takes its address from `lookup` now (the target's, as a hit
// would resolve it). An error says why the definition cannot be recorded
// (SSE registers are read in the tracer only; a symbol not resolvable
// yet); its probe is then a trap probe.
using SymbolLookup = std::function<Result<uint64_t>(const std::string& name)>;
Result<Probe::Capture> capture_of(const Definition& def, const SymbolLookup& lookup = nullptr);

struct FetchedArg {
  std::string name;
  FetchedValue value;
};

class EventFetcher {
public:
  static Result<EventFetcher> make(Definition def, const ArgResolver& resolver = nullptr);

  const Definition& definition() const { return def_; }
  // One value per argument, in order. Failures become Kind::fault values
  // (with the reason in str), so a hit always prints all its arguments.
  std::vector<FetchedArg> fetch_all(HitContext& ctx);
  // The target exec'ed: symbol addresses are stale.
  void clear_cache() { cache_.clear(); }

private:
  explicit EventFetcher(Definition def) : def_(std::move(def)) {}
  Definition def_;
  SymbolCache cache_;
};

}  // namespace probekit::trace
