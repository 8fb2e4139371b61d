// elf/elf_file.h — the symbols and layout of one ELF object on disk.
//
// ElfFile is an immutable index built once per object (executable, shared
// library, separate debug file): the merged .symtab/.dynsym function and
// object symbols sorted by link-time address, the PT_LOAD segments that map
// file offsets to link-time addresses, and the identity of the object
// (build-id, .gnu_debuglink, DT_SONAME, PT_INTERP). Everything here is in
// *link-time* virtual addresses (st_value); the engine adds the load bias of
// each mapping. The one idea: resolve names against the file, never against
// the process, so that symbols, sizes and function bytes are known before a
// single byte of the target is touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace probekit::elf {

enum class SymbolKind { function, object, other };

struct Symbol {
  std::string name;       // as in the table (mangled for C++), without any "@VERSION" suffix
  std::string demangled;  // demangled, == name for C
  uint64_t value = 0;     // st_value: link-time virtual address
  uint64_t size = 0;
  SymbolKind kind = SymbolKind::other;
  bool global = false;       // STB_GLOBAL/STB_WEAK vs STB_LOCAL
  bool from_dynsym = false;  // present in .dynsym (exported), whether or not also in .symtab
  bool ifunc = false;        // STT_GNU_IFUNC: value is the resolver, not the implementation
  std::string version;       // symbol version ("GLIBC_2.2.5") when known, else ""
};

struct LoadSegment {  // PT_LOAD
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t offset = 0;
  uint64_t filesz = 0;
  uint32_t flags = 0;  // PF_R | PF_W | PF_X
};

struct SdtNote {  // .note.stapsdt (USDT)
  std::string provider;
  std::string name;
  uint64_t pc = 0;         // link-time address of the probe's nop (already adjusted for .stapsdt.base)
  std::string args;        // "-4@%edi 8@%rsi", as the assembler wrote them
  uint64_t semaphore = 0;  // link-time address of the is-enabled counter, 0 if none
};

class ElfFile {
public:
  // Opens and indexes path. Reads .symtab and .dynsym (merged, deduplicated by
  // (value,name)), build-id, .gnu_debuglink, PT_LOAD segments, PT_INTERP,
  // DT_SONAME, DT_NEEDED, e_entry, e_type. When the file has no .symtab, also loads the
  // symbols of its separate debug file (find_debug_file) if one exists.
  // Errors: io when the file cannot be read, unsupported when it is not a
  // 64-bit x86-64 ELF object.
  static Result<std::shared_ptr<const ElfFile>> open(const std::string& path,
                                                     const std::string& debug_root = "/usr/lib/debug");

  const std::string& path() const { return path_; }
  bool is_pie() const { return is_dyn_; }  // ET_DYN (shared objects too)
  bool is_executable() const { return !interp_.empty() || is_exec_; }  // has PT_INTERP or ET_EXEC
  uint64_t entry() const { return entry_; }
  const std::string& build_id() const { return build_id_; }    // hex, "" if none
  const std::string& debuglink() const { return debuglink_; }  // "" if none
  uint32_t debuglink_crc() const { return debuglink_crc_; }    // CRC32 stored with the debuglink
  const std::string& soname() const { return soname_; }
  const std::vector<std::string>& needed() const { return needed_; }  // DT_NEEDED, in order
  const std::string& interp() const { return interp_; }          // PT_INTERP path, "" if none
  const std::string& debug_file() const { return debug_file_; }  // separate debug file used, "" if none
  bool has_symtab() const { return has_symtab_; }                // the file itself has a .symtab
  const std::vector<LoadSegment>& segments() const { return segments_; }
  const std::vector<Symbol>& symbols() const { return symbols_; }  // functions and objects, sorted by value

  // Functions (SymbolKind::function, size may be 0) whose raw name, demangled
  // name, or demangled name without the parameter list ("ns::f" for
  // "ns::f(int)") equals name. Several for C++ overloads. Sorted by value.
  std::vector<const Symbol*> find(std::string_view name) const;
  // Functions a glob selects, one per address (as DTrace's pid provider):
  // at each address, the first of its symbols in preferred_alias order whose
  // raw, demangled, or parameterless demangled name matches the
  // util/strings.h glob. Cold parts (is_cold_part) are never selected by a
  // glob; find() still names them. Sorted by value.
  std::vector<const Symbol*> match_glob(std::string_view pattern) const;
  // Every function address once, with all its symbols, the preferred name
  // first (preferred_alias order). Sorted by value.
  std::vector<std::vector<const Symbol*>> functions_by_address() const;
  // The function whose [value, value+size) covers vaddr; a size-0 symbol only
  // covers its own address. Among aliases, prefers global, sized, then the
  // name with fewer leading underscores. nullptr when none.
  const Symbol* function_containing(uint64_t vaddr) const;
  // Demangled names of every function, sorted and unique, for "did you mean".
  std::vector<std::string> function_names() const;

  // File bytes at link-time vaddr (from the PT_LOAD that covers it; the part
  // past p_filesz reads as zeros) — used to decode function bodies without
  // touching the process. Error bad_address when a byte is not covered.
  Result<std::vector<uint8_t>> read_vaddr(uint64_t vaddr, size_t len) const;
  std::optional<uint64_t> vaddr_to_offset(uint64_t vaddr) const;
  std::optional<uint64_t> offset_to_vaddr(uint64_t offset) const;
  const std::vector<SdtNote>& sdt_notes() const { return sdt_notes_; }

private:
  ElfFile() = default;
  friend class ElfLoader;

  void build_indexes();
  std::vector<const Symbol*> lookup(std::string_view key) const;

  std::string path_;
  Fd fd_;  // kept open for read_vaddr: a file replaced on disk keeps reading the mapped inode
  bool is_dyn_ = false;
  bool is_exec_ = false;
  bool has_symtab_ = false;
  uint64_t entry_ = 0;
  std::string build_id_;
  std::string debuglink_;
  uint32_t debuglink_crc_ = 0;
  std::string soname_;
  std::vector<std::string> needed_;
  std::string interp_;
  std::string debug_file_;
  std::vector<LoadSegment> segments_;
  std::vector<Symbol> symbols_;
  std::vector<SdtNote> sdt_notes_;
  // name / demangled / parameterless name -> indexes of functions in symbols_.
  std::unordered_multimap<std::string, uint32_t> by_name_;
  // Indexes of functions in symbols_, sorted by value (symbols_ is too).
  std::vector<uint32_t> functions_;
  // strip_parameters(demangled) of symbols_[i] (functions only), "" when it
  // equals the demangled name: computed once, matched by every glob.
  std::vector<std::string> base_names_;
};

// The one naming rule for an address several function symbols share (glibc's
// free is also cfree, __free, __libc_free and __GI___libc_free): true when a
// is the name to show and select rather than b. A global or weak symbol
// before a local one, a sized one before a size-0 label, fewer leading
// underscores, the shorter name, then byte order. It is libproc's order,
// which DTrace's pid provider names its probes by ("free", not
// "__libc_free"); listings, globs and symbolization all use it.
bool preferred_alias(const Symbol& a, const Symbol& b);

// A part of a function GCC split off (hot/cold partitioning): "f.cold",
// "f.cold.3", "f.part.0.cold". It is entered by a jump from f's body, never
// called, so it has no entry of its own; its exits are f's.
bool is_cold_part(const Symbol& s);

// abi::__cxa_demangle; returns name unchanged when it is not a mangled name.
std::string demangle(const std::string& name);

// "ns::f" for "ns::f(int) const", "Foo::operator()" for "Foo::operator()(int)",
// "f<int>" for "int f<int>(int)" (template return types dropped); names
// without a parameter list are returned unchanged.
std::string strip_parameters(std::string_view demangled);

// Standard CRC-32 (the one .gnu_debuglink stores), continuing from crc.
uint32_t crc32(const void* data, size_t len, uint32_t crc = 0);

// The separate debug file for f: debug_root/.build-id/ab/cdef….debug by
// build-id, then the debuglink next to the file, in a .debug/ subdirectory,
// and under debug_root + the file's directory; verifies the CRC32 of a
// debuglink match (read from path's .gnu_debuglink when debuglink_crc is not
// given). nullopt when none exists.
std::optional<std::string> find_debug_file(const std::string& path, const std::string& build_id,
                                           const std::string& debuglink, const std::string& debug_root,
                                           std::optional<uint32_t> debuglink_crc = std::nullopt);

}  // namespace probekit::elf
