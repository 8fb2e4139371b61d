// elf/elf_file.cpp — reading an ELF object with libelf into an ElfFile.
//
// Loading is one pass over the program headers (segments, interpreter) and
// one over the sections (symbol tables, notes, debuglink, soname). Symbols of
// .symtab and .dynsym describe the same functions twice in an unstripped
// object, so they are merged by (value, name); a stripped object (no .symtab)
// borrows the .symtab of its separate debug file, whose st_values are the same
// link-time addresses. Names are demangled exactly once, here, and the lookup
// index holds every spelling a user may type (raw, demangled, demangled
// without parameters).
#include "elf/elf_file.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <fcntl.h>
#include <filesystem>
#include <gelf.h>
#include <libelf.h>
#include <map>
#include <sys/stat.h>
#include <utility>

#include "util/strings.h"

namespace probekit::elf {

namespace {

constexpr uint32_t kNoteGnuBuildId = 3;   // NT_GNU_BUILD_ID
constexpr uint32_t kNoteStapsdt = 3;      // stapsdt note type
constexpr size_t kMaxContainingWalk = 64; // aliases/labels to look past in function_containing

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

bool libelf_ready() {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
  return ready;
}

std::string elf_error(const std::string& what) {
  return what + ": " + elf_errmsg(-1);
}

struct OpenedElf {
  Fd fd;
  ElfPtr elf;
};

Result<OpenedElf> open_elf(const std::string& path) {
  if (!libelf_ready()) return Error("libelf is not usable: " + std::string(elf_errmsg(-1)), ErrorKind::internal);
  auto fd = Fd::open(path, O_RDONLY);
  if (!fd) return fd.error();
  Elf* e = elf_begin(fd->get(), ELF_C_READ_MMAP, nullptr);
  if (e == nullptr) return Error(elf_error("cannot read '" + path + "' as ELF"), ErrorKind::unsupported);
  OpenedElf out{std::move(*fd), ElfPtr(e)};
  if (elf_kind(e) != ELF_K_ELF) {
    return Error("'" + path + "' is not an ELF object; give the path of an executable or shared library",
                 ErrorKind::unsupported);
  }
  if (gelf_getclass(e) != ELFCLASS64) {
    return Error("'" + path + "' is a 32-bit ELF object; only x86-64 objects can be traced", ErrorKind::unsupported);
  }
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

// Calls fn(type, name, desc, desc_size) for each note in data.
template <typename Fn>
void for_each_note(Elf_Data* data, Fn&& fn) {
  if (data == nullptr || data->d_buf == nullptr) return;
  size_t off = 0;
  GElf_Nhdr nhdr;
  size_t name_off = 0;
  size_t desc_off = 0;
  while (off < data->d_size) {
    size_t next = gelf_getnote(data, off, &nhdr, &name_off, &desc_off);
    if (next == 0) break;
    const char* base = static_cast<const char*>(data->d_buf);
    std::string_view name(base + name_off, nhdr.n_namesz > 0 ? nhdr.n_namesz - 1 : 0);
    fn(nhdr.n_type, name, reinterpret_cast<const uint8_t*>(base + desc_off), size_t{nhdr.n_descsz});
    off = next;
  }
}

uint64_t read_u64le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// .gnu_debuglink: file name, NUL, padding to 4, CRC32 (file byte order; LE here).
bool parse_debuglink(Elf_Data* data, std::string* name, uint32_t* crc) {
  if (data == nullptr || data->d_buf == nullptr || data->d_size < 5) return false;
  const char* p = static_cast<const char*>(data->d_buf);
  size_t len = strnlen(p, data->d_size);
  size_t crc_off = (len + 4) & ~size_t{3};
  if (len == 0 || crc_off + 4 > data->d_size) return false;
  *name = std::string(p, len);
  const auto* c = reinterpret_cast<const uint8_t*>(p + crc_off);
  *crc = uint32_t{c[0]} | uint32_t{c[1]} << 8 | uint32_t{c[2]} << 16 | uint32_t{c[3]} << 24;
  return true;
}

// Names of the versions a .gnu.verdef section defines, by version index.
std::map<uint16_t, std::string> read_verdefs(Elf* e, Elf_Scn* scn, const GElf_Shdr& shdr) {
  std::map<uint16_t, std::string> out;
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr) return out;
  size_t off = 0;
  for (size_t i = 0; i < shdr.sh_info; ++i) {
    GElf_Verdef def;
    if (gelf_getverdef(data, static_cast<int>(off), &def) == nullptr) break;
    GElf_Verdaux aux;
    if (def.vd_cnt > 0 && gelf_getverdaux(data, static_cast<int>(off + def.vd_aux), &aux) != nullptr) {
      const char* n = elf_strptr(e, shdr.sh_link, aux.vda_name);
      if (n != nullptr && (def.vd_flags & VER_FLG_BASE) == 0) out[def.vd_ndx] = n;
    }
    if (def.vd_next == 0) break;
    off += def.vd_next;
  }
  return out;
}

bool is_regular_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::optional<uint32_t> file_crc32(const std::string& p) {
  auto fd = Fd::open(p, O_RDONLY);
  if (!fd) return std::nullopt;
  std::vector<uint8_t> buf(1 << 16);
  uint32_t crc = 0;
  uint64_t off = 0;
  for (;;) {
    auto n = pread_full(fd->get(), buf.data(), buf.size(), off);
    if (!n) return std::nullopt;
    if (*n == 0) break;
    crc = crc32(buf.data(), *n, crc);
    off += *n;
  }
  return crc;
}

// Splits "name@VER" / "name@@VER" into name and version.
std::pair<std::string, std::string> split_version(std::string_view raw) {
  size_t at = raw.find('@');
  if (at == std::string_view::npos || at == 0) return {std::string(raw), ""};
  size_t v = at + 1;
  if (v < raw.size() && raw[v] == '@') ++v;
  return {std::string(raw.substr(0, at)), std::string(raw.substr(v))};
}

size_t leading_underscores(const std::string& s) {
  size_t n = 0;
  while (n < s.size() && s[n] == '_') ++n;
  return n;
}

}  // namespace

// Builds an ElfFile; a friend so that ElfFile's fields stay private.
class ElfLoader {
public:
  static Result<std::shared_ptr<const ElfFile>> load(const std::string& path, const std::string& debug_root);

private:
  static Status read_headers(ElfFile& f, Elf* e);
  static Status read_sections(ElfFile& f, Elf* e, bool symbols_only);
  static void read_symbols(ElfFile& f, Elf* e, Elf_Scn* scn, const GElf_Shdr& shdr, bool dynsym,
                           const std::vector<uint16_t>& versym, const std::map<uint16_t, std::string>& verdefs);
  static void merge_symbols(ElfFile& f);
};

Status ElfLoader::read_headers(ElfFile& f, Elf* e) {
  GElf_Ehdr ehdr;
  if (gelf_getehdr(e, &ehdr) == nullptr) return Error(elf_error("'" + f.path_ + "': bad ELF header"), ErrorKind::unsupported);
  if (ehdr.e_machine != EM_X86_64) {
    return Error("'" + f.path_ + "' is not an x86-64 object (e_machine " + std::to_string(ehdr.e_machine) + ")",
                 ErrorKind::unsupported);
  }
  f.is_dyn_ = ehdr.e_type == ET_DYN;
  f.is_exec_ = ehdr.e_type == ET_EXEC;
  f.entry_ = ehdr.e_entry;

  size_t phnum = 0;
  if (elf_getphdrnum(e, &phnum) != 0) return Error(elf_error("'" + f.path_ + "': bad program headers"), ErrorKind::unsupported);
  size_t raw_size = 0;
  const char* raw = elf_rawfile(e, &raw_size);
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(e, static_cast<int>(i), &ph) == nullptr) continue;
    if (ph.p_type == PT_LOAD) {
      f.segments_.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ph.p_flags});
    } else if (ph.p_type == PT_INTERP && raw != nullptr && ph.p_offset < raw_size) {
      size_t max = std::min<uint64_t>(ph.p_filesz, raw_size - ph.p_offset);
      f.interp_ = std::string(raw + ph.p_offset, strnlen(raw + ph.p_offset, max));
    } else if (ph.p_type == PT_NOTE && f.build_id_.empty()) {
      Elf_Data* data = elf_getdata_rawchunk(e, static_cast<int64_t>(ph.p_offset), ph.p_filesz, ELF_T_NHDR);
      for_each_note(data, [&](uint32_t type, std::string_view name, const uint8_t* desc, size_t n) {
        if (type == kNoteGnuBuildId && name == "GNU" && f.build_id_.empty()) f.build_id_ = to_hex(desc, n);
      });
    }
  }
  std::sort(f.segments_.begin(), f.segments_.end(),
            [](const LoadSegment& a, const LoadSegment& b) { return a.vaddr < b.vaddr; });
  return {};
}

void ElfLoader::read_symbols(ElfFile& f, Elf* e, Elf_Scn* scn, const GElf_Shdr& shdr, bool dynsym,
                             const std::vector<uint16_t>& versym, const std::map<uint16_t, std::string>& verdefs) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr || shdr.sh_entsize == 0) return;
  size_t count = shdr.sh_size / shdr.sh_entsize;
  for (size_t i = 1; i < count; ++i) {
    GElf_Sym sym;
    if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
    if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS || sym.st_shndx == SHN_COMMON) continue;
    int type = GELF_ST_TYPE(sym.st_info);
    SymbolKind kind;
    if (type == STT_FUNC || type == STT_GNU_IFUNC) {
      kind = SymbolKind::function;
    } else if (type == STT_OBJECT) {
      kind = SymbolKind::object;
    } else {
      continue;  // sections, files, TLS offsets and untyped labels are not probe targets
    }
    const char* raw = elf_strptr(e, shdr.sh_link, sym.st_name);
    if (raw == nullptr || *raw == '\0') continue;
    auto [name, version] = split_version(raw);
    if (dynsym && version.empty() && i < versym.size()) {
      auto it = verdefs.find(static_cast<uint16_t>(versym[i] & 0x7fff));
      if (it != verdefs.end()) version = it->second;
    }
    Symbol s;
    s.name = std::move(name);
    s.version = std::move(version);
    s.value = sym.st_value;
    s.size = sym.st_size;
    s.kind = kind;
    int bind = GELF_ST_BIND(sym.st_info);
    s.global = bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
    s.from_dynsym = dynsym;
    s.ifunc = type == STT_GNU_IFUNC;
    f.symbols_.push_back(std::move(s));
  }
}

Status ElfLoader::read_sections(ElfFile& f, Elf* e, bool symbols_only) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(e, &shstrndx) != 0) return {};  // no section headers: phdrs were enough

  // Versions first, so that .dynsym can be tagged while it is read.
  std::vector<uint16_t> versym;
  std::map<uint16_t, std::string> verdefs;
  std::optional<uint64_t> stapsdt_base;
  Elf_Scn* stapsdt = nullptr;
  for (Elf_Scn* scn = elf_nextscn(e, nullptr); scn != nullptr; scn = elf_nextscn(e, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    if (shdr.sh_type == SHT_GNU_versym && !symbols_only) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      if (d != nullptr && d->d_buf != nullptr) {
        const auto* p = static_cast<const uint16_t*>(d->d_buf);
        versym.assign(p, p + d->d_size / 2);
      }
    } else if (shdr.sh_type == SHT_GNU_verdef && !symbols_only) {
      verdefs = read_verdefs(e, scn, shdr);
    }
  }

  for (Elf_Scn* scn = elf_nextscn(e, nullptr); scn != nullptr; scn = elf_nextscn(e, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* sname = elf_strptr(e, shstrndx, shdr.sh_name);
    std::string_view name = sname != nullptr ? sname : "";
    if (shdr.sh_type == SHT_SYMTAB) {
      if (!symbols_only) f.has_symtab_ = true;
      read_symbols(f, e, scn, shdr, false, versym, verdefs);
      continue;
    }
    if (symbols_only) continue;
    if (shdr.sh_type == SHT_DYNSYM) {
      read_symbols(f, e, scn, shdr, true, versym, verdefs);
    } else if (shdr.sh_type == SHT_NOTE && name == ".note.stapsdt") {
      stapsdt = scn;
    } else if (shdr.sh_type == SHT_NOTE && f.build_id_.empty()) {
      for_each_note(elf_getdata(scn, nullptr), [&](uint32_t type, std::string_view nname, const uint8_t* desc, size_t n) {
        if (type == kNoteGnuBuildId && nname == "GNU" && f.build_id_.empty()) f.build_id_ = to_hex(desc, n);
      });
    } else if (name == ".gnu_debuglink") {
      parse_debuglink(elf_getdata(scn, nullptr), &f.debuglink_, &f.debuglink_crc_);
    } else if (name == ".stapsdt.base") {
      stapsdt_base = shdr.sh_addr;
    } else if (shdr.sh_type == SHT_DYNAMIC) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      size_t n = shdr.sh_entsize != 0 ? shdr.sh_size / shdr.sh_entsize : 0;
      for (size_t i = 0; d != nullptr && i < n; ++i) {
        GElf_Dyn dyn;
        if (gelf_getdyn(d, static_cast<int>(i), &dyn) == nullptr) break;
        if (dyn.d_tag == DT_NULL) break;
        if (dyn.d_tag == DT_SONAME) {
          const char* so = elf_strptr(e, shdr.sh_link, dyn.d_un.d_val);
          if (so != nullptr) f.soname_ = so;
        } else if (dyn.d_tag == DT_NEEDED) {
          const char* lib = elf_strptr(e, shdr.sh_link, dyn.d_un.d_val);
          if (lib != nullptr) f.needed_.emplace_back(lib);
        }
      }
    }
  }

  if (stapsdt != nullptr) {
    for_each_note(elf_getdata(stapsdt, nullptr), [&](uint32_t type, std::string_view nname, const uint8_t* desc, size_t n) {
      if (type != kNoteStapsdt || nname != "stapsdt" || n < 24) return;
      SdtNote note;
      note.pc = read_u64le(desc);
      uint64_t base = read_u64le(desc + 8);
      note.semaphore = read_u64le(desc + 16);
      // Prelink may have moved the object after the note was written; the
      // note records where .stapsdt.base was then, the section where it is now.
      if (stapsdt_base && base != 0) note.pc += *stapsdt_base - base;
      const char* p = reinterpret_cast<const char*>(desc + 24);
      const char* end = reinterpret_cast<const char*>(desc + n);
      std::string* fields[] = {&note.provider, &note.name, &note.args};
      for (std::string* field : fields) {
        size_t len = strnlen(p, static_cast<size_t>(end - p));
        *field = std::string(p, len);
        p += std::min<size_t>(len + 1, static_cast<size_t>(end - p));
      }
      f.sdt_notes_.push_back(std::move(note));
    });
  }
  return {};
}

void ElfLoader::merge_symbols(ElfFile& f) {
  auto& syms = f.symbols_;
  // .symtab entries first within a (value, name) group so that the kept copy
  // carries the local/size information of the full table.
  std::stable_sort(syms.begin(), syms.end(), [](const Symbol& a, const Symbol& b) {
    if (a.value != b.value) return a.value < b.value;
    if (a.name != b.name) return a.name < b.name;
    return !a.from_dynsym && b.from_dynsym;
  });
  std::vector<Symbol> out;
  out.reserve(syms.size());
  for (auto& s : syms) {
    if (!out.empty() && out.back().value == s.value && out.back().name == s.name) {
      Symbol& kept = out.back();
      kept.from_dynsym = kept.from_dynsym || s.from_dynsym;
      if (kept.version.empty()) kept.version = s.version;
      if (kept.size == 0) kept.size = s.size;
      kept.global = kept.global || s.global;
      continue;
    }
    out.push_back(std::move(s));
  }
  syms = std::move(out);
  for (auto& s : syms) s.demangled = demangle(s.name);
}

Result<std::shared_ptr<const ElfFile>> ElfLoader::load(const std::string& path, const std::string& debug_root) {
  auto opened = open_elf(path);
  if (!opened) return opened.error();
  std::shared_ptr<ElfFile> f(new ElfFile());
  f->path_ = path;
  Elf* e = opened->elf.get();
  PK_TRY(read_headers(*f, e));
  PK_TRY(read_sections(*f, e, false));

  if (!f->has_symtab_) {
    auto debug = find_debug_file(path, f->build_id_, f->debuglink_, debug_root,
                                 f->debuglink_.empty() ? std::nullopt : std::optional<uint32_t>(f->debuglink_crc_));
    if (debug && *debug != path) {
      auto dbg = open_elf(*debug);
      // A debug file that cannot be read only costs the local symbols.
      if (dbg) {
        size_t before = f->symbols_.size();
        if (read_sections(*f, dbg->elf.get(), true) && f->symbols_.size() > before) f->debug_file_ = *debug;
      }
    }
  }
  merge_symbols(*f);
  f->build_indexes();
  f->fd_ = std::move(opened->fd);
  return std::shared_ptr<const ElfFile>(std::move(f));
}

Result<std::shared_ptr<const ElfFile>> ElfFile::open(const std::string& path, const std::string& debug_root) {
  return ElfLoader::load(path, debug_root);
}

void ElfFile::build_indexes() {
  base_names_.resize(symbols_.size());
  for (uint32_t i = 0; i < symbols_.size(); ++i) {
    const Symbol& s = symbols_[i];
    if (s.kind != SymbolKind::function) continue;
    functions_.push_back(i);
    by_name_.emplace(s.name, i);
    if (s.demangled != s.name) {
      by_name_.emplace(s.demangled, i);
      // "f(int) [clone .cold]" without parameters is "f": a cold part
      // answers only to its own names, never to its parent's.
      std::string base = is_cold_part(s) ? s.demangled : strip_parameters(s.demangled);
      if (base != s.demangled) {
        by_name_.emplace(base, i);
        base_names_[i] = std::move(base);
      }
    }
  }
}

std::vector<const Symbol*> ElfFile::lookup(std::string_view key) const {
  std::vector<const Symbol*> out;
  auto [lo, hi] = by_name_.equal_range(std::string(key));
  for (auto it = lo; it != hi; ++it) out.push_back(&symbols_[it->second]);
  std::sort(out.begin(), out.end(), [](const Symbol* a, const Symbol* b) {
    return a->value != b->value ? a->value < b->value : a->name < b->name;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<const Symbol*> ElfFile::find(std::string_view name) const {
  auto out = lookup(name);
  if (out.empty()) {
    // "memcpy@GLIBC_2.2.5" / "memcpy@@GLIBC_2.14": the name with that version.
    auto [base, version] = split_version(name);
    if (!version.empty()) {
      for (const Symbol* s : lookup(base)) {
        if (s->version == version) out.push_back(s);
      }
    }
  }
  return out;
}

std::vector<std::vector<const Symbol*>> ElfFile::functions_by_address() const {
  std::vector<std::vector<const Symbol*>> out;
  for (uint32_t i : functions_) {
    const Symbol& s = symbols_[i];
    if (out.empty() || out.back().front()->value != s.value) out.emplace_back();
    out.back().push_back(&s);
  }
  for (auto& group : out) {
    std::sort(group.begin(), group.end(), [](const Symbol* a, const Symbol* b) { return preferred_alias(*a, *b); });
  }
  return out;
}

std::vector<const Symbol*> ElfFile::match_glob(std::string_view pattern) const {
  auto matches = [&](const Symbol& s) {
    if (glob_match(pattern, s.name)) return true;
    if (s.demangled != s.name && glob_match(pattern, s.demangled)) return true;
    const std::string& base = base_names_[static_cast<size_t>(&s - symbols_.data())];
    return !base.empty() && glob_match(pattern, base);
  };
  std::vector<const Symbol*> out;
  for (const auto& group : functions_by_address()) {
    for (const Symbol* s : group) {
      if (!is_cold_part(*s) && matches(*s)) {
        out.push_back(s);
        break;
      }
    }
  }
  return out;
}

const Symbol* ElfFile::function_containing(uint64_t vaddr) const {
  // functions_ is sorted by value: the candidates are the last ones at or
  // below vaddr. Walk back past zero-size labels and aliases to the nearest
  // function that covers vaddr.
  auto it = std::upper_bound(functions_.begin(), functions_.end(), vaddr,
                             [this](uint64_t v, uint32_t i) { return v < symbols_[i].value; });
  const Symbol* best = nullptr;
  size_t walked = 0;
  while (it != functions_.begin() && walked++ < kMaxContainingWalk) {
    --it;
    const Symbol& s = symbols_[*it];
    if (best != nullptr && s.value != best->value) break;
    bool covers = s.size == 0 ? s.value == vaddr : vaddr - s.value < s.size;
    if (covers && (best == nullptr || preferred_alias(s, *best))) best = &s;
  }
  return best;
}

std::vector<std::string> ElfFile::function_names() const {
  std::vector<std::string> out;
  out.reserve(functions_.size());
  for (uint32_t i : functions_) out.push_back(symbols_[i].demangled);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<uint64_t> ElfFile::vaddr_to_offset(uint64_t vaddr) const {
  for (const auto& seg : segments_) {
    if (vaddr >= seg.vaddr && vaddr - seg.vaddr < seg.filesz) return seg.offset + (vaddr - seg.vaddr);
  }
  return std::nullopt;
}

std::optional<uint64_t> ElfFile::offset_to_vaddr(uint64_t offset) const {
  for (const auto& seg : segments_) {
    if (offset >= seg.offset && offset - seg.offset < seg.filesz) return seg.vaddr + (offset - seg.offset);
  }
  return std::nullopt;
}

Result<std::vector<uint8_t>> ElfFile::read_vaddr(uint64_t vaddr, size_t len) const {
  std::vector<uint8_t> out(len, 0);
  size_t done = 0;
  while (done < len) {
    uint64_t at = vaddr + done;
    const LoadSegment* seg = nullptr;
    for (const auto& s : segments_) {
      if (at >= s.vaddr && at - s.vaddr < s.memsz) {
        seg = &s;
        break;
      }
    }
    if (seg == nullptr) {
      return Error("address " + hex(at) + " is not in any loadable segment of '" + path_ + "'", ErrorKind::bad_address);
    }
    uint64_t in_seg = at - seg->vaddr;
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - done, seg->memsz - in_seg));
    if (in_seg < seg->filesz) {
      size_t from_file = static_cast<size_t>(std::min<uint64_t>(chunk, seg->filesz - in_seg));
      auto n = pread_full(fd_.get(), out.data() + done, from_file, seg->offset + in_seg);
      if (!n) return std::move(n).error().context("reading '" + path_ + "'");
      if (*n != from_file) return Error("'" + path_ + "' is shorter than its program headers say", ErrorKind::io);
    }
    // The rest of the chunk (past p_filesz) is .bss: already zero.
    done += chunk;
  }
  return out;
}

bool preferred_alias(const Symbol& a, const Symbol& b) {
  if (a.global != b.global) return a.global;
  if ((a.size != 0) != (b.size != 0)) return a.size != 0;
  size_t ua = leading_underscores(a.name);
  size_t ub = leading_underscores(b.name);
  if (ua != ub) return ua < ub;
  if (a.name.size() != b.name.size()) return a.name.size() < b.name.size();
  return a.name < b.name;
}

bool is_cold_part(const Symbol& s) {
  std::string_view n = s.name;
  size_t dot = n.rfind(".cold");
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string_view rest = n.substr(dot + 5);  // "" or ".N"
  if (rest.empty()) return true;
  if (rest.size() < 2 || rest[0] != '.') return false;
  return std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string demangle(const std::string& name) {
  if (name.size() < 3 || name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* d = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (d == nullptr || status != 0) {
    std::free(d);
    return name;
  }
  std::string out(d);
  std::free(d);
  return out;
}

std::string strip_parameters(std::string_view s) {
  // "f(int) [clone .cold]" and "f(int) [clone .constprop.0]": GCC's copies.
  for (;;) {
    size_t clone = s.rfind(" [clone ");
    if (clone == std::string_view::npos || s.back() != ']') break;
    s = s.substr(0, clone);
  }
  size_t close = s.rfind(')');
  if (close == std::string_view::npos) return std::string(s);
  int depth = 0;
  size_t open = std::string_view::npos;
  for (size_t i = close + 1; i-- > 0;) {
    if (s[i] == ')') {
      ++depth;
    } else if (s[i] == '(' && --depth == 0) {
      open = i;
      break;
    }
  }
  if (open == std::string_view::npos || open == 0) return std::string(s);
  std::string_view base = s.substr(0, open);
  // Template functions carry their return type: "int f<int>(int)". Drop
  // everything up to the last blank outside <> and (); an operator name
  // ("operator<<", "operator new") is never scanned.
  if (!base.empty() && base.back() == '>') {
    size_t limit = base.rfind("operator");
    if (limit == std::string_view::npos) limit = base.size();
    int angle = 0;
    int paren = 0;
    size_t last_space = std::string_view::npos;
    for (size_t i = 0; i < limit; ++i) {
      char c = base[i];
      if (c == '<') ++angle;
      else if (c == '>') --angle;
      else if (c == '(') ++paren;
      else if (c == ')') --paren;
      else if (c == ' ' && angle == 0 && paren == 0) last_space = i;
    }
    if (last_space != std::string_view::npos) base = base.substr(last_space + 1);
  }
  return std::string(base);
}

uint32_t crc32(const void* data, size_t len, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < len; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::optional<std::string> find_debug_file(const std::string& path, const std::string& build_id,
                                           const std::string& debuglink, const std::string& debug_root,
                                           std::optional<uint32_t> debuglink_crc) {
  namespace fs = std::filesystem;
  if (build_id.size() > 2) {
    std::string p = debug_root + "/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug";
    if (is_regular_file(p)) return p;
  }
  if (debuglink.empty()) return std::nullopt;

  if (!debuglink_crc) {
    auto opened = open_elf(path);
    if (!opened) return std::nullopt;
    Elf* e = opened->elf.get();
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(e, &shstrndx) != 0) return std::nullopt;
    for (Elf_Scn* scn = elf_nextscn(e, nullptr); scn != nullptr; scn = elf_nextscn(e, scn)) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr) continue;
      const char* n = elf_strptr(e, shstrndx, shdr.sh_name);
      std::string name;
      uint32_t crc = 0;
      if (n != nullptr && std::string_view(n) == ".gnu_debuglink" &&
          parse_debuglink(elf_getdata(scn, nullptr), &name, &crc)) {
        debuglink_crc = crc;
      }
    }
    if (!debuglink_crc) return std::nullopt;
  }

  // gdb looks beside the real file, not beside a symlink to it.
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) real = fs::absolute(path, ec);
  std::string dir = real.parent_path().string();
  const std::string candidates[] = {
      dir + "/" + debuglink,
      dir + "/.debug/" + debuglink,
      debug_root + dir + "/" + debuglink,
  };
  for (const std::string& c : candidates) {
    if (!is_regular_file(c)) continue;
    fs::path cr = fs::canonical(c, ec);
    if (!ec && cr == real) continue;  // the object itself, named like its debug file
    auto crc = file_crc32(c);
    if (crc && *crc == *debuglink_crc) return c;
  }
  return std::nullopt;
}

}  // namespace probekit::elf
