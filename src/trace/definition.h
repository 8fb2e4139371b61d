// trace/definition.h — one uprobe_events/kprobe_events-style probe definition.
//
//   p[:[GRP/]EVENT] [MODULE:]SYMBOL[+OFFS]|[MODULE:]0xADDR [NAME=]FETCHARG[:TYPE] ...
//   r[MAXACTIVE][:[GRP/]EVENT] [MODULE:]SYMBOL[+0] [NAME=]FETCHARG[:TYPE] ...
//   p[:[GRP/]EVENT] [MODULE:]SYMBOL%return ...            (same as r)
//   u[:[GRP/]EVENT] MODULE:PROVIDER:NAME [NAME=]FETCHARG[:TYPE] ...   (USDT)
//   u:MODULE:PROVIDER:NAME [ARGS]                          (the same, shorter)
//
// The one idea: a fetch-arg is lowered at parse time to the kernel's own
// model, a *base value* followed by a chain of dereferences. `@ADDR` is the
// immediate ADDR dereferenced at +0, `$stackN` is %sp dereferenced at +8N,
// `$argN` (N > 6) is %sp dereferenced at +8(N-6), `@SYM+8` is the address of
// SYM dereferenced at +8, and `+8(+0(%di))` is %di dereferenced at +0, then
// at +8. Evaluation (trace/fetch.h) is then one loop. Every intermediate
// dereference reads 8 bytes; the last one reads the type's size, or, for
// `string`, takes the computed address as the string's address.
//
// Choices where the kernel leaves room, documented once here:
// * GRP defaults to "probekit". EVENT defaults to the kprobe_events rule,
//   "p_SYMBOL_OFFS" / "r_SYMBOL_OFFS" with OFFS in decimal ("p_malloc_0",
//   "p_work_16"); the module is not part of it. For an address the uprobe
//   rule: "p_0x401000", or "p_MODULE_0x1130" when a module is named. Any
//   character outside [A-Za-z0-9_] becomes '_' (the kernel's
//   sanitize_event_name): "p_ns__f_0" for "ns::f".
// * Shorthand: "p:LOCATION [ARGS]" ("p:libc.so.6:malloc size=%di:u64", as
//   issue 2 writes it) when the token after "p:X" is missing or a fetch-arg
//   and X has no "GRP/": X is then the location, the event name the default.
// * NAME defaults to "arg1", "arg2", ... by position, as the kernel does.
// * TYPE defaults to x64 (the kernel's DEFAULT_FETCH_TYPE on 64-bit), and to
//   `string` for `$comm` and `\"immediate strings"`; `$arg:NAME` takes the
//   type the resolver reports from DWARF when no TYPE is given.
// * `string` on a value that is not a dereference (`%di:string`) reads the
//   string at that value. The kernel insists on `+0(%di):string`; both are
//   accepted and mean the same thing.
// * `$argN` is refused in return probes and at a non-zero offset (the
//   registers no longer hold the arguments there), like the kernel.
// * `%ax`, `%di`... are the full 64-bit registers (trace/registers.h).
// * Beyond the kernel: `%xmm0`..`%xmm15` (the low 64 bits, read from the
//   thread's FP state) and the types f32/f64 (the low 4/8 bytes as an IEEE
//   float/double), so floating-point arguments can be fetched; `$arg:NAME`
//   of a double parameter lowers to `%xmmN:f64`.
// * The module is separated from the symbol by the first single ':' (so
//   C++ names such as "ns::f" stay whole): "libc.so.6:malloc", "a.out:ns::f".
// * `u` probes a USDT (<sys/sdt.h>) site: MODULE ("a.out", a file name or a
//   path) is required, NAME may be written as in the note
//   ("function__entry") or as DTrace shows it ("function-entry"). GRP
//   defaults to "sdt_PROVIDER" and EVENT to NAME with '-' as '_' (perf's
//   sdt_ events). `$argN` (N from 1) is the note's Nth argument, lowered
//   later by the CLI from the note (FetchBase::arg_name, text "N", usdt set)
//   with the note's size and sign as its default type.
// * Not supported, with an error saying so: `-:EVENT` (removal), `@+OFFSET`
//   (file offsets), array types `TYPE[N]`, `@MODULE:SYMBOL`.
//
// Errors carry a SourceRange whose column is the 1-based column of the
// offending character in the definition text; the CLI prints the definition
// and a caret under it. All errors of a definition are collected, not only
// the first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/registers.h"
#include "util/result.h"

namespace probekit::trace {

enum class ProbeKind { entry, ret };  // 'p' and 'r'

enum class TypeKind {
  unsigned_int,  // u8..u64: decimal
  signed_int,    // s8..s64: signed decimal
  hex,           // x8..x64: 0x%x
  string,        // string, ustring: "..."
  symbol,        // symbol: sym+0xoff
  bitfield,      // b<width>@<offset>/<container bits>: decimal
  floating,      // f32, f64: the IEEE value, shortest round-trip text ("2.5")
};

struct FetchType {
  TypeKind kind = TypeKind::hex;
  uint8_t bytes = 8;       // size read at the last dereference (container for bitfields)
  uint8_t bit_width = 0;   // bitfields only
  uint8_t bit_offset = 0;  // bitfields only

  // "u32", "x64", "string", "symbol", "b4@3/32".
  std::string name() const;
  static std::optional<FetchType> parse(std::string_view name);
  bool operator==(const FetchType&) const = default;
};

// Where the base value comes from, after lowering (see the note above).
enum class FetchBase {
  reg,               // a register
  immediate,         // `\IMM`, or the ADDR of `@ADDR`
  symbol_address,    // the address of `@SYMBOL`, resolved at the hit (cached)
  comm,              // `$comm`: the thread's name, a string
  immediate_string,  // `\"text"`
  arg_name,          // `$arg:NAME`: unresolved until a resolver is given
  xmm,               // `%xmm0`..`%xmm15`: the low 64 bits of an SSE register
};

struct FetchArg {
  std::string name;                // NAME, or "argN" by position
  FetchBase base = FetchBase::immediate;
  RegisterRef reg;                 // reg
  uint8_t xmm = 0;                 // xmm: the register number
  uint64_t immediate = 0;          // immediate
  std::string text;                // symbol name, parameter name, or the immediate string
  std::vector<int64_t> derefs;     // innermost first: v = read(v + derefs[i])
  FetchType type;
  bool type_given = false;         // `:TYPE` was written
  std::string spelling;            // the argument as written ("size=+0(%di):u64")
  int column = 0;                  // 1-based column of the argument in the definition
};

struct Definition {
  ProbeKind kind = ProbeKind::entry;
  std::string group = "probekit";
  std::string event;
  // probekit::Location fields: module (empty: any), symbol (empty when address is set),
  // offset from the symbol, or an address (relative to the module when one is named).
  std::string module;
  std::string symbol;
  uint64_t offset = 0;
  std::optional<uint64_t> address;
  int maxactive = 0;               // r only; 0: the engine's default
  bool usdt = false;               // u: a USDT site, named by the three below
  std::string usdt_provider;       // u only
  std::string usdt_name;           // u only, as written
  std::vector<FetchArg> args;
  std::string text;                // the definition as given
  std::string source_file = "<command line>";  // from ParseOptions, for errors found later
  int source_line = 1;

  bool is_return() const { return kind == ProbeKind::ret; }
  // "GRP/EVENT", as ftrace and our JSON name events.
  std::string full_name() const { return group + "/" + event; }
  // "libc.so.6:malloc+0x10" / "a.out:0x1130": Location::parse's syntax.
  std::string location_text() const;
};

struct ParseOptions {
  std::string file = "<command line>";  // for SourceRange
  int line = 1;                           // e.g. the definition's position on the command line
};

// The first error is returned; `errors`, when given, receives all of them.
Result<Definition> parse_definition(std::string_view text, const ParseOptions& options = {},
                                    std::vector<Error>* errors = nullptr);

}  // namespace probekit::trace
