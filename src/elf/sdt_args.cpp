#include "elf/sdt_args.h"

#include <cstddef>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <optional>

namespace probekit::elf {

namespace {

constexpr int word_of(size_t offset) { return static_cast<int>(offset / 8); }
#define PK_WORD(r) word_of(offsetof(user_regs_struct, r))

struct RegName {
  const char* name;
  int word;
  uint8_t bits;
  uint8_t shift;
};

// Every general register the assembler may print, at every width.
const RegName kRegs[] = {
    {"rax", PK_WORD(rax), 64, 0}, {"eax", PK_WORD(rax), 32, 0}, {"ax", PK_WORD(rax), 16, 0},
    {"al", PK_WORD(rax), 8, 0},   {"ah", PK_WORD(rax), 8, 8},   {"rbx", PK_WORD(rbx), 64, 0},
    {"ebx", PK_WORD(rbx), 32, 0}, {"bx", PK_WORD(rbx), 16, 0},  {"bl", PK_WORD(rbx), 8, 0},
    {"bh", PK_WORD(rbx), 8, 8},   {"rcx", PK_WORD(rcx), 64, 0}, {"ecx", PK_WORD(rcx), 32, 0},
    {"cx", PK_WORD(rcx), 16, 0},  {"cl", PK_WORD(rcx), 8, 0},   {"ch", PK_WORD(rcx), 8, 8},
    {"rdx", PK_WORD(rdx), 64, 0}, {"edx", PK_WORD(rdx), 32, 0}, {"dx", PK_WORD(rdx), 16, 0},
    {"dl", PK_WORD(rdx), 8, 0},   {"dh", PK_WORD(rdx), 8, 8},   {"rsi", PK_WORD(rsi), 64, 0},
    {"esi", PK_WORD(rsi), 32, 0}, {"si", PK_WORD(rsi), 16, 0},  {"sil", PK_WORD(rsi), 8, 0},
    {"rdi", PK_WORD(rdi), 64, 0}, {"edi", PK_WORD(rdi), 32, 0}, {"di", PK_WORD(rdi), 16, 0},
    {"dil", PK_WORD(rdi), 8, 0},  {"rbp", PK_WORD(rbp), 64, 0}, {"ebp", PK_WORD(rbp), 32, 0},
    {"bp", PK_WORD(rbp), 16, 0},  {"bpl", PK_WORD(rbp), 8, 0},  {"rsp", PK_WORD(rsp), 64, 0},
    {"esp", PK_WORD(rsp), 32, 0}, {"sp", PK_WORD(rsp), 16, 0},  {"spl", PK_WORD(rsp), 8, 0},
    {"rip", PK_WORD(rip), 64, 0},
};

std::optional<SdtRegister> find_register(std::string_view name) {
  for (const RegName& r : kRegs) {
    if (name == r.name) return SdtRegister{r.word, r.bits, r.shift, std::string(name)};
  }
  // r8..r15 with their d/w/b suffixes.
  static const int high[] = {PK_WORD(r8),  PK_WORD(r9),  PK_WORD(r10), PK_WORD(r11),
                             PK_WORD(r12), PK_WORD(r13), PK_WORD(r14), PK_WORD(r15)};
  if (name.size() >= 2 && name[0] == 'r' && name[1] >= '0' && name[1] <= '9') {
    size_t i = 1;
    int n = 0;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') n = n * 10 + (name[i++] - '0');
    if (n < 8 || n > 15) return std::nullopt;
    std::string_view suffix = name.substr(i);
    uint8_t bits = suffix.empty() ? 64 : suffix == "d" ? 32 : suffix == "w" ? 16 : (suffix == "b" || suffix == "l") ? 8 : 0;
    if (bits == 0) return std::nullopt;
    return SdtRegister{high[n - 8], bits, 0, std::string(name)};
  }
  return std::nullopt;
}

std::optional<int64_t> parse_int(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
    if (d >= base) return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

Error bad(std::string_view arg, const std::string& why) {
  return Error("USDT argument '" + std::string(arg) + "': " + why, ErrorKind::parse);
}

Result<SdtRegister> reg_operand(std::string_view arg, std::string_view s) {
  if (s.empty() || s[0] != '%') return bad(arg, "expected a register ('%rax'), found '" + std::string(s) + "'");
  auto r = find_register(s.substr(1));
  if (!r) return bad(arg, "unknown register '" + std::string(s) + "'");
  return *r;
}

Result<SdtArg> parse_one(std::string_view text) {
  SdtArg a;
  a.text = std::string(text);
  std::string_view op = text;
  if (auto at = text.find('@'); at != std::string_view::npos) {
    std::string_view size = text.substr(0, at);
    op = text.substr(at + 1);
    if (!size.empty() && size[0] == '-') {
      a.is_signed = true;
      size.remove_prefix(1);
    }
    if (size == "1" || size == "2" || size == "4" || size == "8") {
      a.size = static_cast<uint8_t>(size[0] - '0');
    } else {
      return bad(text, "the size before '@' must be 1, 2, 4 or 8 (with '-' for signed)");
    }
  }
  if (op.empty()) return bad(text, "no operand after the size");
  if (op[0] == '$') {
    auto v = parse_int(op.substr(1));
    if (!v) return bad(text, "'" + std::string(op) + "' is not an integer constant");
    a.kind = SdtArg::Kind::imm;
    a.offset = *v;
    return a;
  }
  if (op[0] == '%') {
    auto r = reg_operand(text, op);
    if (!r) return r.error();
    a.kind = SdtArg::Kind::reg;
    a.reg = *r;
    return a;
  }
  // Memory: [DISP|SYM[+-DISP]](BASE[,INDEX[,SCALE]]), or a bare SYM / DISP.
  a.kind = SdtArg::Kind::mem;
  size_t open = op.find('(');
  std::string_view disp = op.substr(0, open);
  if (!disp.empty()) {
    if (auto v = parse_int(disp)) {
      a.offset = *v;
    } else {
      size_t sign = disp.find_first_of("+-", 1);
      a.symbol = std::string(disp.substr(0, sign));
      if (sign != std::string_view::npos) {
        auto v2 = parse_int(disp.substr(sign));
        if (!v2) return bad(text, "'" + std::string(disp) + "' is not SYMBOL+OFFSET");
        a.offset = *v2;
      }
      for (char c : a.symbol) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$')) {
          return bad(text, "'" + std::string(disp) + "' is not a displacement or a symbol");
        }
      }
    }
  }
  if (open == std::string_view::npos) {
    if (a.symbol.empty()) return bad(text, "an absolute address is not a supported operand");
    return bad(text, "a symbol without a base register is not supported");
  }
  if (op.back() != ')') return bad(text, "missing ')'");
  std::string_view inside = op.substr(open + 1, op.size() - open - 2);
  std::vector<std::string_view> parts;
  for (;;) {
    size_t comma = inside.find(',');
    parts.push_back(inside.substr(0, comma));
    if (comma == std::string_view::npos) break;
    inside.remove_prefix(comma + 1);
  }
  if (parts.size() > 3) return bad(text, "too many parts inside '(...)'");
  if (!parts[0].empty()) {
    auto r = reg_operand(text, parts[0]);
    if (!r) return r.error();
    a.reg = *r;
  }
  if (parts.size() >= 2) {
    auto r = reg_operand(text, parts[1]);
    if (!r) return r.error();
    a.index = *r;
  }
  if (parts.size() == 3) {
    auto s = parse_int(parts[2]);
    if (!s || (*s != 1 && *s != 2 && *s != 4 && *s != 8)) return bad(text, "the scale must be 1, 2, 4 or 8");
    a.scale = static_cast<uint8_t>(*s);
  }
  if (a.reg.word < 0 && a.index.word < 0) return bad(text, "no register inside '(...)'");
  if (!a.symbol.empty() && a.reg.name != "rip") return bad(text, "a symbol is supported only relative to %rip");
  return a;
}

uint64_t register_value(const SdtRegister& r, const user_regs_struct& regs) {
  uint64_t words[sizeof(user_regs_struct) / 8];
  std::memcpy(words, &regs, sizeof words);
  uint64_t v = words[r.word] >> r.shift;
  return r.bits == 64 ? v : v & ((uint64_t{1} << r.bits) - 1);
}

uint64_t extend(uint64_t v, uint8_t size, bool is_signed) {
  if (size >= 8) return v;
  const unsigned bits = size * 8u;
  v &= (uint64_t{1} << bits) - 1;
  if (is_signed && (v >> (bits - 1)) & 1) v |= ~uint64_t{0} << bits;
  return v;
}

}  // namespace

Result<std::vector<SdtArg>> parse_sdt_args(std::string_view text) {
  std::vector<SdtArg> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size()) break;
    size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    auto a = parse_one(text.substr(i, j - i));
    if (!a) return a.error();
    out.push_back(std::move(*a));
    i = j;
  }
  return out;
}

Result<uint64_t> evaluate_sdt_arg(const SdtArg& arg, const user_regs_struct& regs, const SdtReader& read,
                                  uint64_t symbol_address) {
  switch (arg.kind) {
    case SdtArg::Kind::imm:
      return extend(static_cast<uint64_t>(arg.offset), arg.size, arg.is_signed);
    case SdtArg::Kind::reg:
      return extend(register_value(arg.reg, regs), arg.size, arg.is_signed);
    case SdtArg::Kind::mem: {
      uint64_t addr = static_cast<uint64_t>(arg.offset);
      if (!arg.symbol.empty()) {
        addr += symbol_address;  // relative to %rip at link time: the symbol's address
      } else if (arg.reg.word >= 0) {
        addr += register_value(arg.reg, regs);
      }
      if (arg.index.word >= 0) addr += register_value(arg.index, regs) * arg.scale;
      uint64_t v = 0;
      if (!read(addr, &v, arg.size)) {
        return Error("cannot read USDT argument '" + arg.text + "' at 0x" + [&] {
          char b[32];
          std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(addr));
          return std::string(b);
        }(), ErrorKind::bad_address);
      }
      return extend(v, arg.size, arg.is_signed);
    }
  }
  return Error("bad USDT argument kind", ErrorKind::internal);
}

}  // namespace probekit::elf
