// ElfFile against fixtures built by this folder's CMakeLists.txt and against
// what binutils printed about them at build time (nm -S, readelf -n).
#include "elf/elf_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace probekit::elf {
namespace {

namespace fs = std::filesystem;

const std::string kFx = PK_ELF_FIXTURES;

std::string fx(const std::string& name) { return kFx + "/" + name; }

struct NmEntry {
  uint64_t value = 0;
  uint64_t size = 0;
  char type = 0;
};

// "value [size] type name" lines of `nm -S --defined-only`, by name. Names
// keep their "@VERSION" suffix; several entries may share a name.
std::multimap<std::string, NmEntry> read_nm(const std::string& path) {
  std::multimap<std::string, NmEntry> out;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<std::string> f;
    std::string w;
    while (ls >> w) f.push_back(w);
    NmEntry e;
    if (f.size() == 4) {
      e.value = std::stoull(f[0], nullptr, 16);
      e.size = std::stoull(f[1], nullptr, 16);
      e.type = f[2][0];
      out.emplace(f[3], e);
    } else if (f.size() == 3) {
      e.value = std::stoull(f[0], nullptr, 16);
      e.type = f[1][0];
      out.emplace(f[2], e);
    }
  }
  return out;
}

std::shared_ptr<const ElfFile> open_ok(const std::string& path, const std::string& root = "/nonexistent-debug-root") {
  auto f = ElfFile::open(path, root);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message());
  return f.ok() ? *f : nullptr;
}

const Symbol* only(const std::vector<const Symbol*>& v) {
  EXPECT_EQ(v.size(), 1u);
  return v.size() == 1 ? v[0] : nullptr;
}

std::vector<std::string> demangled_names(const std::vector<const Symbol*>& v) {
  std::vector<std::string> out;
  for (const Symbol* s : v) out.push_back(s->demangled);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> file_bytes(const std::string& path, uint64_t offset, size_t len) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::vector<uint8_t> out(len);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(len));
  EXPECT_EQ(static_cast<size_t>(in.gcount()), len);
  return out;
}

// A scratch directory removed at the end of the test.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pk-elf-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

TEST(ElfFile, IdentityOfAPieExecutable) {
  auto f = open_ok(fx("elf_fx_c_pie"));
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->is_pie());
  EXPECT_TRUE(f->is_executable());
  EXPECT_EQ(f->interp(), "/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(f->soname(), "");
  EXPECT_EQ(f->debuglink(), "");
  EXPECT_EQ(f->debug_file(), "");
  EXPECT_TRUE(f->has_symtab());
  std::ifstream id(fx("elf_fx_c_pie.buildid"));
  std::string expected_id;
  id >> expected_id;
  EXPECT_EQ(expected_id.size(), 40u);
  EXPECT_EQ(f->build_id(), expected_id);
  const Symbol* start = only(f->find("_start"));
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(f->entry(), start->value);
  ASSERT_FALSE(f->segments().empty());
  EXPECT_EQ(f->segments()[0].vaddr, 0u);
  EXPECT_EQ(f->segments()[0].offset, 0u);
  bool has_exec = std::any_of(f->segments().begin(), f->segments().end(),
                              [](const LoadSegment& s) { return (s.flags & 1u) != 0; });  // PF_X
  EXPECT_TRUE(has_exec);
}

TEST(ElfFile, IdentityOfANonPieExecutable) {
  auto f = open_ok(fx("elf_fx_c_nopie"));
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->is_pie());
  EXPECT_TRUE(f->is_executable());
  ASSERT_FALSE(f->segments().empty());
  EXPECT_EQ(f->segments()[0].vaddr, 0x400000u);
  const Symbol* add = only(f->find("fixture_add"));
  ASSERT_NE(add, nullptr);
  EXPECT_GT(add->value, 0x400000u);
}

// Every function and object ElfFile reports has the address and size nm
// prints, and every sized text symbol nm prints is a function here.
void expect_matches_nm(const std::string& binary, const std::string& nm_file) {
  auto f = open_ok(binary);
  ASSERT_TRUE(f);
  auto nm = read_nm(nm_file);
  ASSERT_FALSE(nm.empty());
  for (const Symbol& s : f->symbols()) {
    auto [lo, hi] = nm.equal_range(s.name);
    bool found = false;
    for (auto it = lo; it != hi; ++it) found = found || (it->second.value == s.value && it->second.size == s.size);
    EXPECT_TRUE(found) << s.name << " at " << std::hex << s.value << " size " << std::dec << s.size;
  }
  for (const auto& [name, e] : nm) {
    if ((e.type != 'T' && e.type != 't' && e.type != 'i') || e.size == 0) continue;
    bool found = false;
    for (const Symbol* s : f->find(name)) found = found || (s->value == e.value && s->size == e.size);
    EXPECT_TRUE(found) << "nm lists " << name;
  }
}

TEST(ElfFile, SymbolsMatchNmForC) { expect_matches_nm(fx("elf_fx_c_pie"), fx("elf_fx_c_pie.nm")); }
TEST(ElfFile, SymbolsMatchNmForNonPie) { expect_matches_nm(fx("elf_fx_c_nopie"), fx("elf_fx_c_nopie.nm")); }
TEST(ElfFile, SymbolsMatchNmForCxx) { expect_matches_nm(fx("elf_fx_cpp"), fx("elf_fx_cpp.nm")); }

TEST(ElfFile, SymbolsAreSortedFunctionsAndObjects) {
  auto f = open_ok(fx("elf_fx_c_pie"));
  ASSERT_TRUE(f);
  const auto& syms = f->symbols();
  EXPECT_TRUE(std::is_sorted(syms.begin(), syms.end(),
                             [](const Symbol& a, const Symbol& b) { return a.value < b.value; }));
  for (const Symbol& s : syms) EXPECT_NE(s.kind, SymbolKind::other) << s.name;
  const Symbol* magic = nullptr;
  for (const Symbol& s : syms) {
    if (s.name == "fixture_magic") magic = &s;
  }
  ASSERT_NE(magic, nullptr);
  EXPECT_EQ(magic->kind, SymbolKind::object);
  EXPECT_EQ(magic->size, 4u);
  // Objects are not functions: find() does not return them.
  EXPECT_TRUE(f->find("fixture_magic").empty());
}

TEST(ElfFile, FindsGlobalStaticWeakAndIfuncFunctions) {
  auto f = open_ok(fx("elf_fx_c_pie"));
  ASSERT_TRUE(f);
  const Symbol* add = only(f->find("fixture_add"));
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->kind, SymbolKind::function);
  EXPECT_TRUE(add->global);
  EXPECT_EQ(add->demangled, "fixture_add");
  EXPECT_FALSE(add->ifunc);

  const Symbol* helper = only(f->find("static_helper"));
  ASSERT_NE(helper, nullptr);
  EXPECT_FALSE(helper->global);
  EXPECT_FALSE(helper->from_dynsym);
  EXPECT_GT(helper->size, 0u);

  const Symbol* weak = only(f->find("fixture_weak"));
  ASSERT_NE(weak, nullptr);
  EXPECT_TRUE(weak->global);

  const Symbol* ifunc = only(f->find("fixture_ifunc"));
  ASSERT_NE(ifunc, nullptr);
  EXPECT_TRUE(ifunc->ifunc);
  const Symbol* resolver = only(f->find("resolve_ifunc"));
  ASSERT_NE(resolver, nullptr);
  EXPECT_EQ(ifunc->value, resolver->value);  // an IFUNC symbol's value is its resolver

  const Symbol* known = only(f->find("fixture_known_bytes"));
  ASSERT_NE(known, nullptr);
  EXPECT_EQ(known->size, 7u);

  EXPECT_TRUE(f->find("no_such_function").empty());
  EXPECT_TRUE(f->find("printf").empty());  // undefined here: lives in libc
}

TEST(ElfFile, FindsCxxFunctionsByEverySpelling) {
  auto f = open_ok(fx("elf_fx_cpp"));
  ASSERT_TRUE(f);
  auto overloads = f->find("ns::overloaded");
  EXPECT_EQ(demangled_names(overloads),
            (std::vector<std::string>{"ns::overloaded(double)", "ns::overloaded(int)"}));
  const Symbol* by_int = only(f->find("ns::overloaded(int)"));
  ASSERT_NE(by_int, nullptr);
  EXPECT_EQ(by_int->name, "_ZN2ns10overloadedEi");
  EXPECT_EQ(only(f->find("_ZN2ns10overloadedEi")), by_int);

  const Symbol* area = only(f->find("ns::Widget::area"));
  ASSERT_NE(area, nullptr);
  EXPECT_EQ(area->demangled, "ns::Widget::area() const");
  EXPECT_EQ(area->name, "_ZNK2ns6Widget4areaEv");

  const Symbol* call = only(f->find("ns::Widget::operator()"));
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->demangled, "ns::Widget::operator()(int) const");

  EXPECT_EQ(demangled_names(f->find("twice<int>")), std::vector<std::string>{"int twice<int>(int)"});
  EXPECT_EQ(demangled_names(f->find("twice<double>")), std::vector<std::string>{"double twice<double>(double)"});

  const Symbol* hidden = only(f->find("(anonymous namespace)::hidden_helper"));
  ASSERT_NE(hidden, nullptr);
  EXPECT_FALSE(hidden->global);

  // The unqualified name is not a spelling of ns::overloaded.
  EXPECT_TRUE(f->find("overloaded").empty());
}

TEST(ElfFile, MatchGlobOnRawAndDemangledNames) {
  auto f = open_ok(fx("elf_fx_cpp"));
  ASSERT_TRUE(f);
  EXPECT_EQ(demangled_names(f->match_glob("ns::*")),
            (std::vector<std::string>{"ns::Widget::area() const", "ns::Widget::make(int)",
                                      "ns::Widget::operator()(int) const", "ns::overloaded(double)",
                                      "ns::overloaded(int)"}));
  EXPECT_EQ(demangled_names(f->match_glob("ns::overloaded")),
            (std::vector<std::string>{"ns::overloaded(double)", "ns::overloaded(int)"}));
  EXPECT_EQ(demangled_names(f->match_glob("_ZN2ns10overloaded*")),
            (std::vector<std::string>{"ns::overloaded(double)", "ns::overloaded(int)"}));
  EXPECT_EQ(demangled_names(f->match_glob("*twice*")),
            (std::vector<std::string>{"double twice<double>(double)", "int twice<int>(int)"}));

  auto c = open_ok(fx("elf_fx_c_pie"));
  ASSERT_TRUE(c);
  std::vector<std::string> names;
  for (const Symbol* s : c->match_glob("fixture_*")) names.push_back(s->name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"fixture_add", "fixture_alias", "fixture_ifunc",
                                             "fixture_known_bytes", "fixture_usdt", "fixture_weak"}));
  EXPECT_TRUE(c->match_glob("fixture_[xyz]*").empty());
}

// fixture_alias has five names at one address and a cold part (data/fixture.c).
TEST(ElfFile, GlobsSelectEachAddressOnceByThePreferredName) {
  for (const char* name : {"elf_fx_c_pie", "elf_fx_c_nopie"}) {
    auto f = open_ok(fx(name));
    ASSERT_TRUE(f);
    const Symbol* best = only(f->find("fixture_alias"));
    ASSERT_NE(best, nullptr);
    // Every glob over the aliases gives the address once, under the first
    // name in preference order that it matches.
    auto names = [&](const char* glob) {
      std::vector<std::string> out;
      for (const Symbol* s : f->match_glob(glob))
        if (s->value == best->value) out.push_back(s->name);
      return out;
    };
    EXPECT_EQ(names("*fixture_alias*"), std::vector<std::string>{"fixture_alias"});
    EXPECT_EQ(names("*"), std::vector<std::string>{"fixture_alias"});
    EXPECT_EQ(names("*_global"), std::vector<std::string>{"__fixture_alias_global"});
    EXPECT_EQ(names("__*"), std::vector<std::string>{"__fixture_alias_global"});
    EXPECT_EQ(names("*_local"), std::vector<std::string>{"__fixture_alias_local"});
    // Named explicitly, every alias still resolves to the address.
    for (const char* alias : {"fixture_alias_longer", "__fixture_alias_global", "__fixture_alias_local",
                              "__GI___fixture_alias_global"}) {
      const Symbol* s = only(f->find(alias));
      ASSERT_NE(s, nullptr) << alias;
      EXPECT_EQ(s->value, best->value) << alias;
    }
    // The listing: the address once, the preferred name first, then the
    // aliases in the same order.
    std::vector<std::string> group;
    for (const auto& g : f->functions_by_address())
      if (g.front()->value == best->value)
        for (const Symbol* s : g) group.push_back(s->name);
    EXPECT_EQ(group, (std::vector<std::string>{"fixture_alias", "fixture_alias_longer", "__fixture_alias_global",
                                               "__fixture_alias_local", "__GI___fixture_alias_global"}));
    EXPECT_EQ(f->function_containing(best->value), best);
    // The cold part: never selected by a glob, still found by name.
    const Symbol* cold = only(f->find("fixture_alias.cold"));
    ASSERT_NE(cold, nullptr);
    EXPECT_TRUE(is_cold_part(*cold));
    EXPECT_FALSE(is_cold_part(*best));
    for (const char* glob : {"*fixture_alias*", "*.cold", "*"}) {
      auto all = f->match_glob(glob);
      EXPECT_EQ(std::count(all.begin(), all.end(), cold), 0) << glob;
    }
  }
}

TEST(ElfFile, ColdPartsByName) {
  auto sym = [](const char* name) {
    Symbol s;
    s.name = name;
    return s;
  };
  for (const char* cold : {"f.cold", "f.cold.3", "f.part.0.cold", "_Z5outerl.cold"})
    EXPECT_TRUE(is_cold_part(sym(cold))) << cold;
  for (const char* not_cold : {"cold", ".cold", "f.coldness", "f.cold.x", "f.part.0", "f.constprop.0", "f.cold."})
    EXPECT_FALSE(is_cold_part(sym(not_cold))) << not_cold;
}

TEST(ElfFile, FunctionContaining) {
  auto f = open_ok(fx("elf_fx_c_pie"));
  ASSERT_TRUE(f);
  const Symbol* add = only(f->find("fixture_add"));
  ASSERT_NE(add, nullptr);
  ASSERT_GT(add->size, 1u);
  EXPECT_EQ(f->function_containing(add->value), add);
  EXPECT_EQ(f->function_containing(add->value + add->size - 1), add);
  EXPECT_NE(f->function_containing(add->value + add->size), add);
  EXPECT_EQ(f->function_containing(0), nullptr);
  const Symbol* known = only(f->find("fixture_known_bytes"));
  ASSERT_NE(known, nullptr);
  EXPECT_EQ(f->function_containing(known->value + 3), known);
  // The resolver and the IFUNC share an address: the global one wins.
  const Symbol* ifunc = only(f->find("fixture_ifunc"));
  ASSERT_NE(ifunc, nullptr);
  EXPECT_EQ(f->function_containing(ifunc->value), ifunc);
}

TEST(ElfFile, FunctionNamesAreDemangledSortedAndUnique) {
  auto f = open_ok(fx("elf_fx_cpp"));
  ASSERT_TRUE(f);
  auto names = f->function_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "ns::overloaded(int)"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "main"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "_ZN2ns10overloadedEi"), names.end());
}

TEST(ElfFile, ReadVaddrGivesTheFileBytes) {
  for (const char* name : {"elf_fx_c_pie", "elf_fx_c_nopie"}) {
    SCOPED_TRACE(name);
    auto f = open_ok(fx(name));
    ASSERT_TRUE(f);
    const Symbol* known = only(f->find("fixture_known_bytes"));
    ASSERT_NE(known, nullptr);
    auto bytes = f->read_vaddr(known->value, 7);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message();
    EXPECT_EQ(*bytes, (std::vector<uint8_t>{0x55, 0x48, 0x89, 0xe5, 0x90, 0x5d, 0xc3}));

    const Symbol* magic = nullptr;
    const Symbol* zeros = nullptr;
    for (const Symbol& s : f->symbols()) {
      if (s.name == "fixture_magic") magic = &s;
      if (s.name == "fixture_zeros") zeros = &s;
    }
    ASSERT_NE(magic, nullptr);
    ASSERT_NE(zeros, nullptr);
    auto m = f->read_vaddr(magic->value, 4);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(*m, (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}));
    // .bss is past p_filesz: zeros, not whatever follows in the file.
    auto z = f->read_vaddr(zeros->value, 4096);
    ASSERT_TRUE(z.ok());
    EXPECT_EQ(*z, std::vector<uint8_t>(4096, 0));

    // A whole function body equals the file bytes at the mapped offset.
    const Symbol* add = only(f->find("fixture_add"));
    ASSERT_NE(add, nullptr);
    auto off = f->vaddr_to_offset(add->value);
    ASSERT_TRUE(off.has_value());
    EXPECT_EQ(f->offset_to_vaddr(*off), add->value);
    auto body = f->read_vaddr(add->value, add->size);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(*body, file_bytes(fx(name), *off, add->size));

    auto bad = f->read_vaddr(0x7fff00000000, 4);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().kind(), ErrorKind::bad_address);
    EXPECT_FALSE(f->vaddr_to_offset(0x7fff00000000).has_value());
    EXPECT_FALSE(f->vaddr_to_offset(zeros->value + 4000).has_value());  // .bss has no file bytes
  }
}

TEST(ElfFile, SdtNotes) {
  auto f = open_ok(fx("elf_fx_c_pie"));
  ASSERT_TRUE(f);
  ASSERT_EQ(f->sdt_notes().size(), 1u);
  const SdtNote& n = f->sdt_notes()[0];
  EXPECT_EQ(n.provider, "pkfix");
  EXPECT_EQ(n.name, "tick");
  EXPECT_EQ(n.args.substr(0, 4), "-4@%");
  EXPECT_EQ(n.semaphore, 0u);
  const Symbol* usdt = only(f->find("fixture_usdt"));
  ASSERT_NE(usdt, nullptr);
  EXPECT_EQ(f->function_containing(n.pc), usdt);
  auto nop = f->read_vaddr(n.pc, 1);
  ASSERT_TRUE(nop.ok());
  EXPECT_EQ((*nop)[0], 0x90);
}

TEST(ElfFile, SharedLibraryWithVersionScript) {
  auto f = open_ok(fx("libpkfixture.so"));
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->is_pie());
  EXPECT_FALSE(f->is_executable());
  EXPECT_EQ(f->interp(), "");
  EXPECT_EQ(f->soname(), "libpkfixture.so.1");
  const Symbol* add = only(f->find("pk_lib_add"));
  ASSERT_NE(add, nullptr);
  EXPECT_TRUE(add->from_dynsym);
  EXPECT_TRUE(add->global);
  EXPECT_EQ(add->version, "PKFIX_1.0");
  EXPECT_EQ(only(f->find("pk_lib_add@@PKFIX_1.0")), add);
  EXPECT_TRUE(f->find("pk_lib_add@@OTHER_2").empty());
  const Symbol* hidden = only(f->find("pk_lib_hidden"));
  ASSERT_NE(hidden, nullptr);
  EXPECT_FALSE(hidden->from_dynsym);  // made local by the version script
  EXPECT_FALSE(hidden->global);
  auto nm = read_nm(fx("libpkfixture.nm"));
  auto it = nm.find("pk_lib_add@@PKFIX_1.0");
  ASSERT_NE(it, nm.end());
  EXPECT_EQ(it->second.value, add->value);
  EXPECT_EQ(it->second.size, add->size);
}

TEST(ElfFile, StrippedFileBorrowsSymbolsFromItsDebuglink) {
  auto f = open_ok(fx("elf_fx_c_pie.stripped"));
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->has_symtab());
  EXPECT_EQ(f->debuglink(), "elf_fx_c_pie.debug");
  EXPECT_EQ(f->debug_file(), fx("elf_fx_c_pie.debug"));
  auto full = open_ok(fx("elf_fx_c_pie"));
  ASSERT_TRUE(full);
  EXPECT_EQ(f->build_id(), full->build_id());
  const Symbol* helper = only(f->find("static_helper"));
  ASSERT_NE(helper, nullptr);
  const Symbol* expected = only(full->find("static_helper"));
  ASSERT_NE(expected, nullptr);
  EXPECT_EQ(helper->value, expected->value);
  EXPECT_EQ(helper->size, expected->size);
  // Bytes still come from the stripped file itself (the debug file has none).
  auto bytes = f->read_vaddr(only(f->find("fixture_known_bytes"))->value, 7);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, (std::vector<uint8_t>{0x55, 0x48, 0x89, 0xe5, 0x90, 0x5d, 0xc3}));
}

TEST(ElfFile, StrippedFileWithoutDebugFileKeepsDynsymOnly) {
  auto f = open_ok(fx("elf_fx_c_pie.nolink"));
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->has_symtab());
  EXPECT_EQ(f->debuglink(), "");
  EXPECT_EQ(f->debug_file(), "");
  EXPECT_TRUE(f->find("static_helper").empty());
  for (const Symbol& s : f->symbols()) EXPECT_TRUE(s.from_dynsym) << s.name;
}

TEST(FindDebugFile, ByBuildIdInADebugRoot) {
  auto f = open_ok(fx("elf_fx_c_pie.nolink"));
  ASSERT_TRUE(f);
  TempDir root;
  const std::string& id = f->build_id();
  ASSERT_EQ(id.size(), 40u);
  fs::create_directories(root.path() + "/.build-id/" + id.substr(0, 2));
  std::string dbg = root.path() + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug";
  fs::copy_file(fx("elf_fx_c_pie.debug"), dbg);
  EXPECT_EQ(find_debug_file(fx("elf_fx_c_pie.nolink"), id, "", root.path()), dbg);
  EXPECT_EQ(find_debug_file(fx("elf_fx_c_pie.nolink"), "", "", root.path()), std::nullopt);

  // ElfFile::open uses it when the object has no .symtab.
  auto g = open_ok(fx("elf_fx_c_pie.nolink"), root.path());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->debug_file(), dbg);
  EXPECT_EQ(g->find("static_helper").size(), 1u);
}

TEST(FindDebugFile, ByDebuglinkVerifiesTheCrc) {
  auto f = open_ok(fx("elf_fx_c_pie.stripped"));
  ASSERT_TRUE(f);
  TempDir dir;
  std::string obj = dir.path() + "/prog";
  fs::copy_file(fx("elf_fx_c_pie.stripped"), obj);
  const std::string empty_root = dir.path() + "/no-root";

  // Nothing there yet.
  EXPECT_EQ(find_debug_file(obj, "", f->debuglink(), empty_root), std::nullopt);

  // A file with the right name but other contents fails the CRC check.
  {
    std::ofstream bogus(dir.path() + "/elf_fx_c_pie.debug");
    bogus << "not the debug file";
  }
  EXPECT_EQ(find_debug_file(obj, "", f->debuglink(), empty_root), std::nullopt);

  // The right file in .debug/ is found, CRC read from the object or given.
  fs::create_directories(dir.path() + "/.debug");
  fs::copy_file(fx("elf_fx_c_pie.debug"), dir.path() + "/.debug/elf_fx_c_pie.debug");
  EXPECT_EQ(find_debug_file(obj, "", f->debuglink(), empty_root), dir.path() + "/.debug/elf_fx_c_pie.debug");
  EXPECT_EQ(find_debug_file(obj, "", f->debuglink(), empty_root, f->debuglink_crc()),
            dir.path() + "/.debug/elf_fx_c_pie.debug");
  EXPECT_EQ(find_debug_file(obj, "", f->debuglink(), empty_root, f->debuglink_crc() ^ 1u), std::nullopt);

  // Beside the object beats .debug/ once it is the right file.
  fs::copy_file(fx("elf_fx_c_pie.debug"), dir.path() + "/elf_fx_c_pie.debug", fs::copy_options::overwrite_existing);
  EXPECT_EQ(find_debug_file(obj, "", f->debuglink(), empty_root), dir.path() + "/elf_fx_c_pie.debug");

  // Under the debug root + the object's directory.
  TempDir other;
  std::string obj2 = other.path() + "/prog";
  fs::copy_file(fx("elf_fx_c_pie.stripped"), obj2);
  std::string real_dir = fs::canonical(other.path()).string();
  fs::create_directories(dir.path() + "/root" + real_dir);
  fs::copy_file(fx("elf_fx_c_pie.debug"), dir.path() + "/root" + real_dir + "/elf_fx_c_pie.debug");
  EXPECT_EQ(find_debug_file(obj2, "", f->debuglink(), dir.path() + "/root"),
            dir.path() + "/root" + real_dir + "/elf_fx_c_pie.debug");
}

TEST(ElfFile, LibcFromDynsym) {
  auto f = open_ok(PK_LIBC);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->soname(), "libc.so.6");
  // DT_NEEDED, as `readelf -d` lists it: libc needs only the dynamic loader.
  EXPECT_EQ(f->needed(), std::vector<std::string>{"ld-linux-x86-64.so.2"});
  EXPECT_TRUE(f->is_pie());
  auto nm = read_nm(fx("libc.nm"));
  auto nm_malloc = nm.find("malloc@@GLIBC_2.2.5");
  ASSERT_NE(nm_malloc, nm.end());
  const Symbol* malloc_sym = only(f->find("malloc"));
  ASSERT_NE(malloc_sym, nullptr);
  EXPECT_GT(malloc_sym->size, 0u);
  EXPECT_EQ(malloc_sym->size, nm_malloc->second.size);
  EXPECT_EQ(malloc_sym->value, nm_malloc->second.value);
  EXPECT_TRUE(malloc_sym->from_dynsym);
  EXPECT_EQ(malloc_sym->version, "GLIBC_2.2.5");
  EXPECT_FALSE(malloc_sym->ifunc);
  // malloc and __libc_malloc are aliases: function_containing prefers "malloc".
  EXPECT_EQ(f->function_containing(malloc_sym->value + 1), malloc_sym);

  // memcpy: the default version is an IFUNC, the old one is a plain function.
  auto memcpys = f->find("memcpy");
  std::map<std::string, const Symbol*> by_version;
  for (const Symbol* s : memcpys) by_version[s->version] = s;
  for (const auto& [name, e] : nm) {
    if (name.rfind("memcpy@", 0) != 0) continue;
    std::string version = name.substr(name.rfind('@') + 1);
    ASSERT_TRUE(by_version.count(version)) << name;
    EXPECT_EQ(by_version[version]->value, e.value);
    EXPECT_EQ(by_version[version]->size, e.size);
    EXPECT_EQ(by_version[version]->ifunc, e.type == 'i') << name;
    const Symbol* exact = only(f->find(name));
    EXPECT_EQ(exact, by_version[version]);
  }
  EXPECT_EQ(memcpys.size(), by_version.size());
}

TEST(ElfFile, Errors) {
  auto missing = ElfFile::open(kFx + "/does-not-exist");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::io);
  EXPECT_NE(missing.error().message().find("does-not-exist"), std::string::npos);

  // The fixture with its e_machine patched to AArch64, and with EI_CLASS
  // patched to 32-bit.
  TempDir dir;
  auto patched = [&](const std::string& name, size_t offset, uint8_t byte) {
    std::string p = dir.path() + "/" + name;
    fs::copy_file(fx("elf_fx_c_pie"), p);
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(byte));
    return p;
  };
  auto arm = ElfFile::open(patched("arm", 18, 183));  // EM_AARCH64
  ASSERT_FALSE(arm.ok());
  EXPECT_EQ(arm.error().kind(), ErrorKind::unsupported);
  EXPECT_NE(arm.error().message().find("is not an x86-64 object"), std::string::npos);
  auto elf32 = ElfFile::open(patched("elf32", 4, 1));  // ELFCLASS32
  ASSERT_FALSE(elf32.ok());
  EXPECT_EQ(elf32.error().kind(), ErrorKind::unsupported);
  EXPECT_NE(elf32.error().message().find("32-bit"), std::string::npos);

  auto text = ElfFile::open(fx("elf_fx_c_pie.nm"));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().kind(), ErrorKind::unsupported);
  EXPECT_NE(text.error().message().find("is not an ELF object"), std::string::npos);
}

}  // namespace
}  // namespace probekit::elf
