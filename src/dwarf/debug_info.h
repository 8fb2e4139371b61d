// dwarf/debug_info.h — what DWARF says about the functions of one object:
// parameter names, their C types, and where each one lives at function entry.
//
// DebugInfo reads every compile unit once (libdw) and keeps a small table of
// concrete (out-of-line) function definitions keyed by name, linkage name and
// entry address. The one idea: argument *locations* are not read from DWARF
// location lists (which describe the body, after the prologue moved things)
// but derived from the parameter types with the System V AMD64 calling
// convention, which is exactly what holds at the first instruction, where
// entry probes fire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/result.h"

namespace probekit::elf {
class ElfFile;
}  // namespace probekit::elf

namespace probekit::dwarf {

enum class TypeClass {
  signed_int,
  unsigned_int,
  boolean,
  character,
  pointer,
  string,  // char* or const char*
  floating,
  enumeration,
  structure,  // struct, class and union
  other,
  void_,
};

struct Type {
  std::string name;  // C spelling: "const char *", "unsigned long", "double", "struct foo *"
  TypeClass cls = TypeClass::other;
  size_t size = 0;
};

// Where a parameter lives at function entry under the System V AMD64 ABI
// (classified from its type: INTEGER class -> rdi,rsi,rdx,rcx,r8,r9 then
// stack; SSE class (float/double) -> xmm0..xmm7 then stack; structs > 16 bytes
// and long double -> memory (stack); a hidden struct-return pointer takes rdi first).
struct ArgLocation {
  enum class Kind { gpr, xmm, stack };
  Kind kind = Kind::gpr;
  // gpr: 0=rdi..5=r9; xmm: 0..7; stack: byte offset from rsp at entry (first
  // stack arg at 8). stack with index -1: an empty class, passed nowhere.
  int index = 0;
  // A 9..16-byte value passed in two registers (a small struct, __int128)
  // has its second eightbyte here; index2 == -1 when there is none.
  Kind kind2 = Kind::gpr;
  int index2 = -1;
};

struct Parameter {
  std::string name;  // "" for an unnamed parameter
  Type type;
  ArgLocation location;
};

struct Function {
  std::string name;          // DW_AT_name ("f")
  std::string linkage_name;  // DW_AT_linkage_name ("_ZN2ns1fEi"), "" for C
  uint64_t low_pc = 0;       // link-time entry address
  uint64_t high_pc = 0;      // end of the range that holds the entry
  std::vector<Parameter> params;
  Type return_type;
  bool returns_in_memory = false;  // hidden struct-return pointer in rdi
  bool varargs = false;
  // An optimizer-made copy (its ELF symbol is "f.isra.0", "f.constprop.0",
  // "f.part.0", ...): its real calling convention may differ from the
  // declared parameters, so the locations above are not to be trusted.
  bool clone = false;
  std::string decl_file;
  int decl_line = 0;
};

// A member of a struct or union as D reads it from the target's memory
// (DTrace's CTF view of the type). Members of a nested struct or union are
// listed too, after it, named "outer.inner" at their offset from the
// start; an anonymous struct or union's members are listed by their own
// names, as C reaches them.
struct AggregateMember {
  std::string name;
  std::string type_name;  // C spelling: "int", "struct bar *", "char [16]"
  TypeClass cls = TypeClass::other;  // of the element, for an array
  uint64_t offset = 0;    // bytes from the start of the aggregate
  size_t size = 0;        // bytes; of one element, for an array
  bool is_signed = false;
  uint32_t bit_offset = 0;  // bit-fields: bits above `offset` (little-endian)
  uint32_t bit_size = 0;    // bit-fields: the width; 0 otherwise
  uint64_t count = 0;       // arrays: the element count; 0 otherwise
  // Pointers: what they point to ("struct bar" for a struct or union; its
  // size and signedness for an integer, size 0 for anything else).
  std::string pointee_aggregate;
  size_t pointee_size = 0;
  bool pointee_signed = false;
  // An enum (or an array of one): its enumerators, which print() shows by name.
  std::vector<std::pair<int64_t, std::string>> enumerators;
};
// An enum type: its size and enumerators (DW_TAG_enumerator values).
struct Enumeration {
  std::string key;  // "enum color"; "enum" for an anonymous one
  size_t size = 4;
  std::vector<std::pair<int64_t, std::string>> enumerators;
};
struct Aggregate {
  std::string key;  // "struct foo", "union u"
  bool is_union = false;
  size_t size = 0;
  std::vector<AggregateMember> members;
};

class DebugInfo {
public:
  // Opens DWARF for the object at path (or its separate debug file via
  // elf::find_debug_file). An object without DWARF is an Error with kind
  // unsupported and a message saying names/types are unavailable.
  static Result<std::unique_ptr<DebugInfo>> open(const std::string& path,
                                                 const std::string& debug_root = "/usr/lib/debug");
  // The same for an object the caller has already indexed (its symbols mark
  // optimizer clones; its build-id and debuglink find a separate debug file).
  static Result<std::unique_ptr<DebugInfo>> open(const std::shared_ptr<const elf::ElfFile>& elf,
                                                 const std::string& debug_root = "/usr/lib/debug");
  ~DebugInfo();
  DebugInfo(const DebugInfo&) = delete;
  DebugInfo& operator=(const DebugInfo&) = delete;

  // By DW_AT_name, linkage name, or demangled linkage name without its
  // parameter list ("ns::f"); failing that, by an ELF symbol of that name at
  // a function's entry (aliases: libc's "malloc" is DWARF's __libc_malloc).
  // The first definition when several share the name; optimizer clones last.
  const Function* function(std::string_view name) const;
  // Every definition with that name (overloads, static functions of several
  // files), in address order.
  std::vector<const Function*> functions(std::string_view name) const;
  const Function* function_at(uint64_t low_pc) const;  // by link-time entry address
  const std::vector<Function>& all_functions() const { return functions_; }  // address order
  std::optional<std::pair<std::string, int>> source_line(uint64_t vaddr) const;  // file, line
  // The functions inlined at vaddr (a link-time address), innermost first:
  // the DW_TAG_inlined_subroutine scopes that hold it, by their abstract
  // origin's name. Empty when vaddr is in no inlined code.
  std::vector<std::string> inline_frames(uint64_t vaddr) const;
  const std::string& dwarf_file() const { return dwarf_file_; }  // the file the DWARF came from
  // The complete definition of "struct NAME" or "union NAME" (or a typedef
  // NAME_t of one, given as its name) in any compile unit; nullopt when the
  // object does not define it.
  std::optional<Aggregate> aggregate(std::string_view key) const;
  // What the typedef NAME stands for ("pthread_t": unsigned long), from
  // the first compile unit that declares it; nullopt when none does.
  std::optional<Type> typedef_type(std::string_view name) const;
  // The definition of "enum NAME" in any compile unit; nullopt when none.
  std::optional<Enumeration> enumeration(std::string_view key) const;
  // The enum (at a compile unit's top level) that has an enumerator NAME,
  // which D then reads as a constant, as DTrace reads CTF's enumerators.
  std::optional<Enumeration> enumeration_with(std::string_view enumerator) const;

private:
  DebugInfo() = default;
  friend class DwarfLoader;

  std::string dwarf_file_;
  std::shared_ptr<const elf::ElfFile> elf_;  // for aliases; may be null
  std::vector<Function> functions_;
  std::unordered_multimap<std::string, uint32_t> by_name_;
  std::unordered_map<uint64_t, uint32_t> by_pc_;
  // libdw handles kept open for source_line.
  struct Handles;
  std::unique_ptr<Handles> handles_;
};

}  // namespace probekit::dwarf
