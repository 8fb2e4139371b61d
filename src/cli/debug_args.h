// cli/debug_args.h — function parameters by name and type for both front
// ends, from DWARF (src/dwarf), opened lazily and cached per module path.
//
// The one idea: the DWARF layer already says where each parameter lives at
// the function's first instruction (the System V AMD64 calling convention
// applied to the declared types); this file only translates that into what
// each front end consumes:
//   * probekit trace: a trace::ArgResolver for `$arg:NAME` (gpr -> %di..%r9,
//     stack -> +OFF(%sp), xmm -> %xmmN; const char * -> string, signed ->
//     sN, unsigned -> uN, pointer -> x64, double/float -> f64/f32);
//   * D: d::ProbeArg types for register_probe() plus the slots to fill
//     FireContext::params from at each hit;
//   * `-l -v`: the "Argument Types" lines.
// Opening DWARF is not free (libc's costs ~150 ms and 40 MB), so nothing is
// opened until a definition uses `$arg:`, a D program uses `args[`, or -l -v
// lists a function; an object without DWARF is remembered as such.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "d/program.h"
#include "dwarf/debug_info.h"
#include "probekit/probekit.h"
#include "trace/definition.h"
#include "trace/fetch.h"
#include "util/result.h"

namespace probekit::cli {

class DebugArgs {
public:
  // The DWARF of the object at path, opened on first use. An object without
  // debug information is an Error (ErrorKind::unsupported) naming the file.
  Result<const dwarf::DebugInfo*> debug_info(const std::string& path);
  // The definition of `symbol` (the raw or the demangled name) in that object.
  Result<const dwarf::Function*> function(const std::string& path, const std::string& symbol);

private:
  struct Entry {
    std::unique_ptr<dwarf::DebugInfo> info;
    std::optional<Error> error;
  };
  std::map<std::string, Entry> cache_;
};

// The fetch type of a parameter's C type; nullopt for what has no fetch
// type (a struct passed by value, long double): the default x64 applies.
std::optional<trace::FetchType> fetch_type_of(const dwarf::Type& type);

// Where parameter `name` of `fn` is at entry, for `$arg:NAME`.
Result<trace::ArgLocation> trace_arg_location(const dwarf::Function& fn, const std::string& name,
                                              const std::string& module_path);

// The path of the module a definition names ("a.out", a file name such as
// "libc.so.6" or "libc", or a path); with no module, the first module (the
// executable first) that defines `symbol`. nullopt when none matches.
std::optional<std::string> module_path_for(Session& session, const std::string& module,
                                           const std::string& symbol);

// A resolver for `$arg:NAME` of `def`'s function. DWARF is opened when the
// first name is asked. A binary without debug information gives an error
// naming the binary and saying that $argN still works.
trace::ArgResolver make_arg_resolver(DebugArgs& debug, Session& session, const trace::Definition& def);

// D: the types args[N] gets and where each parameter's bits are at entry.
struct ProbeParams {
  std::vector<d::ProbeArg> types;
  std::vector<dwarf::ArgLocation> where;  // same order; at most ten
};
ProbeParams probe_params(const dwarf::Function& fn);
// The params of `symbol` in the object at path, or null when there is no
// usable DWARF for it (no debug information, an optimizer clone): args[N]
// then stays the untyped argN.
std::shared_ptr<const ProbeParams> lookup_probe_params(DebugArgs& debug, const std::string& path,
                                                       const std::string& symbol);
// Fills fc.params from the registers, the SSE state and the stack.
void fill_params(HitContext& ctx, const ProbeParams& params, d::FireContext& fc);

// `-l -v`: the lines under a probe, after dtrace -lv's "Argument Types"
// section (see list_main for the layout). `is_return`: args[0] is the
// returning instruction's offset and args[1] the return value, as DTrace's
// pid provider describes return probes.
std::vector<std::string> describe_args(DebugArgs& debug, const std::string& path, const std::string& symbol,
                                       bool is_return);

}  // namespace probekit::cli

namespace probekit::cli {

// Whether faking a return of `symbol` (override(), --fail) follows its
// calling convention: refused, with the reason, when DWARF shows a struct
// returned in memory or through registers, or a floating-point return
// (xmm0, which override_return does not set). Without DWARF the engine's
// rule applies (integer or pointer in rax, the caller's responsibility).
Status check_override(DebugArgs& debug, const std::string& path, const std::string& symbol);

}  // namespace probekit::cli
