// find_exits on hand-made bytes (exact sites), and on real gcc -O2 output
// linked into this test (exits_fixture.c): the code is read from this
// process's memory, the function ranges come from its own symbol table, and
// the result is compared with an independent decoder, objdump.
#include "x86/x86.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <tuple>

#include "x86_test_util.h"

extern "C" {
extern volatile int pk_fx_sink;
int pk_fx_exits(int x);
int pk_fx_switch(int x);
int pk_fx_callee(int x);
}

namespace probekit::x86 {
namespace {

using testing::bytes_of;
using Kind = ExitSite::Kind;

std::tuple<uint64_t, int, uint64_t> key(const ExitSite& e) {
  return {e.address, static_cast<int>(e.kind), e.target};
}

std::vector<std::tuple<uint64_t, int, uint64_t>> keys(std::vector<ExitSite> v) {
  std::vector<std::tuple<uint64_t, int, uint64_t>> out;
  for (const auto& e : v) out.push_back(key(e));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FindExits, HandMadeFunction) {
  // 1000: test edi, edi
  // 1002: js 0x100e              (inside)
  // 1004: jz 0x100b              (inside)
  // 1006: jmp 0x2000             tail call
  // 100b: xor eax, eax
  // 100d: ret
  // 100e: jmp rax                indirect
  // 1010: jnz 0x2000             conditional tail call
  // 1016: jg 0x1100              into the function's .cold part
  // 101c: call 0x2000            not an exit
  // 1021: ret 8
  std::vector<uint8_t> b = bytes_of(
      "85 ff 78 0a 74 05 e9 f5 0f 00 00 31 c0 c3 ff e0 0f 85 ea 0f 00 00 "
      "0f 8f e4 00 00 00 e8 df 0f 00 00 c2 08 00");
  auto own = [](uint64_t a) { return a >= 0x1100 && a < 0x1200; };
  auto r = find_exits(b, 0x1000, own);
  ASSERT_TRUE(r.ok()) << r.error().message();
  std::vector<ExitSite> want = {{0x1006, Kind::tail_call, 0x2000},
                                {0x100d, Kind::ret, 0},
                                {0x100e, Kind::indirect_jmp, 0},
                                {0x1010, Kind::tail_call, 0x2000},
                                {0x1021, Kind::ret, 0}};
  EXPECT_EQ(keys(*r), keys(want));

  // Without knowledge of the .cold part, the jump into it looks like a tail call.
  auto r2 = find_exits(b, 0x1000, {});
  ASSERT_TRUE(r2.ok());
  want.push_back({0x1016, Kind::tail_call, 0x1100});
  EXPECT_EQ(keys(*r2), keys(want));
}

TEST(FindExits, UndecodableBytesAreAnError) {
  std::vector<uint8_t> b = bytes_of("55 48 89");
  EXPECT_FALSE(find_exits(b, 0x1000, {}).ok());
}

// --- the compiled fixture ----------------------------------------------------

struct Symbol {
  uint64_t value = 0;  // link-time address
  uint64_t size = 0;
};

std::map<std::string, Symbol> own_symbols() {
  std::map<std::string, Symbol> out;
  elf_version(EV_CURRENT);
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  Elf_Scn* scn = nullptr;
  while (elf && (scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t k = 0; data && k < sh.sh_size / sh.sh_entsize; ++k) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(k), &sym)) continue;
      const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (name && std::string(name).rfind("pk_fx_", 0) == 0 && GELF_ST_TYPE(sym.st_info) == STT_FUNC) {
        out[name] = {sym.st_value, sym.st_size};
      }
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return out;
}

// A function of the fixture as it is mapped in this process: its main part
// and, when gcc split it, its .cold part.
struct Function {
  uint64_t bias = 0;  // runtime - link-time
  Symbol main, cold;
  bool own(uint64_t runtime) const {
    const uint64_t a = runtime - bias;
    return (a >= main.value && a < main.value + main.size) ||
           (cold.size && a >= cold.value && a < cold.value + cold.size);
  }
};

Function function_named(const std::string& name, uint64_t runtime_address) {
  auto syms = own_symbols();
  Function f;
  EXPECT_TRUE(syms.count(name)) << name << " not in the symbol table";
  f.main = syms[name];
  f.bias = runtime_address - f.main.value;
  if (syms.count(name + ".cold")) f.cold = syms[name + ".cold"];
  return f;
}

std::vector<ExitSite> exits_of(const Function& f, const Symbol& part, bool use_parts = true) {
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(part.value + f.bias), part.size);
  std::function<bool(uint64_t)> own;
  if (use_parts) own = [&f](uint64_t a) { return f.own(a); };
  auto r = find_exits(bytes, part.value + f.bias, own);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? *r : std::vector<ExitSite>{};
}

// The same question answered by objdump on our own executable.
std::vector<ExitSite> objdump_exits(const Function& f, const Symbol& part) {
  char cmd[256];
  std::snprintf(cmd, sizeof cmd,
                "objdump -d -M intel --no-show-raw-insn --start-address=0x%llx "
                "--stop-address=0x%llx /proc/%d/exe",
                static_cast<unsigned long long>(part.value),
                static_cast<unsigned long long>(part.value + part.size), getpid());
  FILE* p = popen(cmd, "r");
  EXPECT_NE(p, nullptr);
  std::vector<ExitSite> out;
  if (!p) return out;
  char line[512];
  while (fgets(line, sizeof line, p)) {
    // "    1139:\tjmp    1130 <pk_fx_callee>"
    std::string s(line);
    const size_t colon = s.find(":\t");
    if (colon == std::string::npos) continue;
    uint64_t addr = 0;
    if (std::sscanf(s.c_str(), " %llx", reinterpret_cast<unsigned long long*>(&addr)) != 1) {
      continue;
    }
    std::istringstream in(s.substr(colon + 2));
    std::string mnem, operand;
    in >> mnem;
    while (mnem == "notrack" || mnem == "bnd" || mnem == "repz" || mnem == "rep" ||
           mnem == "ds" || mnem == "cs") {
      in >> mnem;
    }
    in >> operand;
    const uint64_t rt = addr + f.bias;
    if (mnem == "ret") {
      out.push_back({rt, Kind::ret, 0});
    } else if (mnem[0] == 'j' || mnem.rfind("loop", 0) == 0) {
      char* end = nullptr;
      const uint64_t target = std::strtoull(operand.c_str(), &end, 16);
      if (end && *end == '\0' && !operand.empty()) {
        if (!f.own(target + f.bias)) out.push_back({rt, Kind::tail_call, target + f.bias});
      } else if (mnem == "jmp") {
        out.push_back({rt, Kind::indirect_jmp, 0});
      }
    }
  }
  pclose(p);
  return out;
}

size_t count(const std::vector<ExitSite>& v, Kind k) {
  return static_cast<size_t>(std::count_if(v.begin(), v.end(), [k](const ExitSite& e) { return e.kind == k; }));
}

TEST(FindExits, CompiledFunctionWithColdPartAndTailCall) {
  ASSERT_EQ(pk_fx_exits(0), 7);
  ASSERT_EQ(pk_fx_exits(-5), -1);
  Function f = function_named("pk_fx_exits", reinterpret_cast<uintptr_t>(&pk_fx_exits));
  ASSERT_GT(f.main.size, 0u);
  ASSERT_GT(f.cold.size, 0u) << "gcc did not split pk_fx_exits.cold";

  auto main_exits = exits_of(f, f.main);
  EXPECT_EQ(keys(main_exits), keys(objdump_exits(f, f.main)));
  // Two returns (x == 0 and the loop) and one tail call to pk_fx_callee.
  EXPECT_EQ(main_exits.size(), 3u);
  EXPECT_EQ(count(main_exits, Kind::ret), 2u);
  EXPECT_EQ(count(main_exits, Kind::indirect_jmp), 0u);
  ASSERT_EQ(count(main_exits, Kind::tail_call), 1u);
  for (const ExitSite& e : main_exits) {
    if (e.kind == Kind::ret) {
      EXPECT_EQ(*reinterpret_cast<const uint8_t*>(e.address), 0xc3);
    }
    if (e.kind == Kind::tail_call) {
      EXPECT_EQ(e.target, reinterpret_cast<uintptr_t>(&pk_fx_callee));
    }
  }

  // Not knowing about the .cold part, the branch into it is a "tail call".
  auto blind = exits_of(f, f.main, /*use_parts=*/false);
  ASSERT_EQ(blind.size(), 4u);
  EXPECT_EQ(count(blind, Kind::tail_call), 2u);
  const uint64_t cold_start = f.cold.value + f.bias;
  EXPECT_TRUE(std::any_of(blind.begin(), blind.end(), [&](const ExitSite& e) {
    return e.kind == Kind::tail_call && e.target == cold_start;
  }));

  // The cold part returns -1 after two calls: one ret, calls are not exits.
  auto cold_exits = exits_of(f, f.cold);
  EXPECT_EQ(keys(cold_exits), keys(objdump_exits(f, f.cold)));
  ASSERT_EQ(cold_exits.size(), 1u);
  EXPECT_EQ(cold_exits[0].kind, Kind::ret);
}

TEST(FindExits, CompiledJumpTable) {
  ASSERT_EQ(pk_fx_switch(6), 18);
  Function f = function_named("pk_fx_switch", reinterpret_cast<uintptr_t>(&pk_fx_switch));
  auto exits = exits_of(f, f.main);
  EXPECT_EQ(keys(exits), keys(objdump_exits(f, f.main)));
  EXPECT_EQ(count(exits, Kind::indirect_jmp), 1u);  // the jump table
  EXPECT_EQ(count(exits, Kind::ret), 6u);           // cases 0..5
  ASSERT_EQ(count(exits, Kind::tail_call), 1u);     // case 6
  for (const ExitSite& e : exits) {
    if (e.kind == Kind::tail_call) {
      EXPECT_EQ(e.target, reinterpret_cast<uintptr_t>(&pk_fx_callee));
    }
  }
}

}  // namespace
}  // namespace probekit::x86
