#include "trace/fetch.h"

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "util/strings.h"

namespace probekit::trace {

namespace {

uint64_t truncate(uint64_t v, uint8_t bytes) {
  return bytes >= 8 ? v : v & ((uint64_t{1} << (bytes * 8)) - 1);
}

int64_t sign_extend(uint64_t v, uint8_t bytes) {
  if (bytes >= 8) return static_cast<int64_t>(v);
  unsigned shift = 64 - bytes * 8u;
  return static_cast<int64_t>(v << shift) >> shift;
}

FetchedValue fault(std::string why) {
  FetchedValue f;
  f.kind = FetchedValue::Kind::fault;
  f.str = std::move(why);
  return f;
}

// Reads `len` (<= 8) bytes at addr, little-endian; nullopt when unmapped.
std::optional<uint64_t> read_bytes(const HitContext& ctx, uint64_t addr, size_t len) {
  uint64_t v = 0;
  auto n = ctx.read(addr, &v, len);
  if (!n || *n != len) return std::nullopt;
  return v;
}

std::string fault_at(uint64_t addr) { return "cannot read memory at " + hex(addr); }

// The IEEE value of the low 4 or 8 bytes.
double float_value(uint64_t bits, uint8_t bytes) {
  if (bytes == 4) {
    auto b32 = static_cast<uint32_t>(bits);
    float f = 0;
    std::memcpy(&f, &b32, sizeof f);
    return f;
  }
  double d = 0;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

// Shortest round-trip text of the value at its own precision: a float
// prints as the float it is ("0.1"), not as the double it widens to.
std::string float_text(uint64_t bits, uint8_t bytes) {
  char buf[64];
  std::to_chars_result r;
  if (bytes == 4)
    r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(float_value(bits, 4)));
  else
    r = std::to_chars(buf, buf + sizeof buf, float_value(bits, 8));
  return std::string(buf, r.ptr);
}

FetchedValue number(const FetchType& type, uint64_t raw) {
  FetchedValue v;
  v.kind = FetchedValue::Kind::number;
  v.type = type;
  if (type.kind == TypeKind::bitfield) {
    raw >>= type.bit_offset;
    raw = type.bit_width >= 64 ? raw : raw & ((uint64_t{1} << type.bit_width) - 1);
  } else {
    raw = truncate(raw, type.bytes);
  }
  v.bits = raw;
  return v;
}

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  return len;
}

// Target memory is arbitrary bytes; JSON must be UTF-8. Valid sequences pass
// through, any other byte becomes \u00XX (its Latin-1 reading).
std::string json_bytes(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t len = utf8_length(s, i);
    if (len == 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
      continue;
    }
    std::string q = json_quote(s.substr(i, len));  // escapes quotes and control bytes
    out.append(q, 1, q.size() - 2);
    i += len;
  }
  return out + "\"";
}

}  // namespace

std::string FetchedValue::text() const {
  char buf[32];
  switch (kind) {
  case Kind::fault: return "(fault)";
  case Kind::symbol: return str;
  case Kind::string: {
    std::string out = "\"";
    for (unsigned char c : str) {
      if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else if (c == '\r') out += "\\r";
      else if (c < 0x20 || c >= 0x7f) {
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  }
  case Kind::number:
    switch (type.kind) {
    case TypeKind::signed_int:
      std::snprintf(buf, sizeof buf, "%" PRId64, sign_extend(bits, type.bytes));
      return buf;
    case TypeKind::hex:
      std::snprintf(buf, sizeof buf, "0x%" PRIx64, bits);
      return buf;
    case TypeKind::floating: return float_text(bits, type.bytes);
    default:
      std::snprintf(buf, sizeof buf, "%" PRIu64, bits);
      return buf;
    }
  }
  return "(fault)";
}

std::string FetchedValue::json() const {
  switch (kind) {
  case Kind::fault: return "null";
  case Kind::symbol:
  case Kind::string: return json_bytes(str);
  case Kind::number:
    if (type.kind == TypeKind::signed_int) return std::to_string(sign_extend(bits, type.bytes));
    if (type.kind == TypeKind::floating)
      return std::isfinite(float_value(bits, type.bytes)) ? float_text(bits, type.bytes) : "null";
    return std::to_string(bits);
  }
  return "null";
}

std::optional<uint64_t> FetchedValue::number() const {
  if (kind == Kind::symbol) return bits;
  if (kind != Kind::number) return std::nullopt;
  if (type.kind == TypeKind::signed_int) return static_cast<uint64_t>(sign_extend(bits, type.bytes));
  return bits;
}

namespace {

// user_regs_struct's word index of a register a record keeps exactly
// (engine/record_context.h), or -1.
int record_word(Gpr g) {
  switch (g) {
    case Gpr::r15: return 0;
    case Gpr::r14: return 1;
    case Gpr::r13: return 2;
    case Gpr::r12: return 3;
    case Gpr::rbp: return 4;
    case Gpr::rbx: return 5;
    case Gpr::r11: return 6;
    case Gpr::r10: return 7;
    case Gpr::r9: return 8;
    case Gpr::r8: return 9;
    case Gpr::rax: return 10;
    case Gpr::rcx: return 11;
    case Gpr::rdx: return 12;
    case Gpr::rsi: return 13;
    case Gpr::rdi: return 14;
    case Gpr::orig_rax: return 15;
    case Gpr::rip: return 16;
    case Gpr::cs: return 17;
    case Gpr::eflags: return 18;
    case Gpr::rsp: return 19;
    case Gpr::ss: return 20;
    case Gpr::fs_base: return 21;
    default: return -1;  // gs_base and the segment selectors: read by the tracer only
  }
}

}  // namespace

Result<Probe::Capture> capture_of(const Definition& def, const SymbolLookup& lookup) {
  Probe::Capture cap;
  cap.registers = 0;  // only those the arguments name
  for (const FetchArg& arg : def.args) {
    const bool memory = !arg.derefs.empty() || arg.type.kind == TypeKind::string;
    switch (arg.base) {
      case FetchBase::comm:
      case FetchBase::immediate_string: continue;
      case FetchBase::arg_name: return Error("'$arg:" + arg.text + "' is not resolved", ErrorKind::unsupported);
      case FetchBase::xmm: return Error("SSE registers are read by the tracer", ErrorKind::unsupported);
      case FetchBase::reg:
      case FetchBase::immediate:
      case FetchBase::symbol_address: break;
    }
    Probe::CaptureRead r;
    if (arg.base == FetchBase::reg) {
      r.reg = record_word(arg.reg.reg);
      if (r.reg < 0) return Error("'" + arg.spelling + "' names a register records do not keep", ErrorKind::unsupported);
      cap.registers |= 1u << r.reg;
      if (!memory) continue;  // the record's registers are enough
      if (arg.reg.bits != 64 || arg.reg.shift != 0) {
        return Error("'" + arg.spelling + "' dereferences part of a register", ErrorKind::unsupported);
      }
    } else {
      if (!memory) continue;
      r.reg = -1;
      r.immediate = arg.immediate;
      if (arg.base == FetchBase::symbol_address) {
        auto at = lookup ? lookup(arg.text) : Result<uint64_t>(Error("no symbol lookup", ErrorKind::unsupported));
        if (!at) return Error("@" + arg.text + " is not resolvable yet", ErrorKind::unsupported);
        r.immediate = *at;
      }
    }
    if (arg.derefs.size() > 8) return Error("'" + arg.spelling + "' has more than 8 dereferences", ErrorKind::unsupported);
    r.derefs = arg.derefs;
    r.string = arg.type.kind == TypeKind::string;
    r.size = arg.type.kind == TypeKind::symbol ? 8 : arg.type.bytes;
    cap.reads.push_back(std::move(r));
  }
  return cap;
}

Result<FetchedValue> fetch(const FetchArg& arg, HitContext& ctx, SymbolCache* cache) {
  uint64_t v = 0;
  switch (arg.base) {
  case FetchBase::comm: {
    FetchedValue s;
    s.kind = FetchedValue::Kind::string;
    s.type = arg.type;
    s.str = ctx.comm();
    return s;
  }
  case FetchBase::immediate_string: {
    FetchedValue s;
    s.kind = FetchedValue::Kind::string;
    s.type = arg.type;
    s.str = arg.text;
    return s;
  }
  case FetchBase::arg_name:
    return Error("'$arg:" + arg.text + "' needs debug info: the parameter's location comes from DWARF; use $argN or a register",
                 ErrorKind::unsupported);
  case FetchBase::reg: v = read_register(ctx.regs(), arg.reg); break;
  case FetchBase::xmm: {
    auto fp = ctx.fpregs();
    if (!fp) return fault("cannot read the SSE registers: " + fp.error().message());
    v = read_xmm_register(*fp, arg.xmm);
    break;
  }
  case FetchBase::immediate: v = arg.immediate; break;
  case FetchBase::symbol_address: {
    std::optional<uint64_t> addr;
    if (cache) {
      auto it = cache->find(arg.text);
      if (it != cache->end()) {
        addr = it->second;
        if (!addr) return Error("no symbol '" + arg.text + "' in the target", ErrorKind::no_such_symbol);
      }
    }
    if (!addr) {
      auto r = ctx.lookup_symbol(arg.text);
      if (cache) (*cache)[arg.text] = r ? std::optional<uint64_t>(*r) : std::nullopt;
      if (!r) return Error("no symbol '" + arg.text + "' in the target", ErrorKind::no_such_symbol);
      addr = *r;
    }
    v = *addr;
    break;
  }
  }

  const FetchType& type = arg.type;
  const size_t n = arg.derefs.size();
  // Every dereference but the last reads a pointer.
  for (size_t i = 0; i + 1 < n; ++i) {
    uint64_t addr = v + static_cast<uint64_t>(arg.derefs[i]);
    auto p = read_bytes(ctx, addr, 8);
    if (!p) return fault(fault_at(addr));
    v = *p;
  }
  // The last one reads the value itself, or, for strings, is the address.
  bool memory = n > 0;
  uint64_t addr = memory ? v + static_cast<uint64_t>(arg.derefs[n - 1]) : v;
  switch (type.kind) {
  case TypeKind::string: {
    auto s = ctx.read_string(addr, kMaxStringSize);
    if (!s) return fault(fault_at(addr));
    FetchedValue out;
    out.kind = FetchedValue::Kind::string;
    out.type = type;
    out.str = std::move(*s);
    return out;
  }
  case TypeKind::symbol: {
    if (memory) {
      auto p = read_bytes(ctx, addr, 8);
      if (!p) return fault(fault_at(addr));
      v = *p;
    }
    FetchedValue out;
    out.kind = FetchedValue::Kind::symbol;
    out.type = type;
    out.bits = v;
    out.str = ctx.symbolize(v);
    return out;
  }
  default:
    if (memory) {
      auto p = read_bytes(ctx, addr, type.bytes);
      if (!p) return fault(fault_at(addr));
      v = *p;
    }
    return number(type, v);
  }
}

Result<std::string> evaluate(const FetchArg& arg, HitContext& ctx) {
  auto v = fetch(arg, ctx);
  if (!v) return v.error();
  return v->text();
}

Result<uint64_t> evaluate_value(const FetchArg& arg, HitContext& ctx) {
  auto v = fetch(arg, ctx);
  if (!v) return v.error();
  if (v->kind == FetchedValue::Kind::fault) return Error(v->str, ErrorKind::bad_address);
  auto n = v->number();
  if (!n) return Error("'" + arg.name + "' is a string, not a number", ErrorKind::usage);
  return *n;
}

Status resolve_arg_names(Definition& def, const ArgResolver& resolver) {
  for (auto& arg : def.args) {
    if (arg.base != FetchBase::arg_name) continue;
    auto range = SourceRange{def.source_file, def.source_line, arg.column, static_cast<int>(arg.spelling.size())};
    if (!resolver) {
      Error e("'$arg:" + arg.text + "' needs debug info: no DWARF is available for '" +
                  (def.symbol.empty() ? def.location_text() : def.symbol) + "'; use $argN or a register",
              ErrorKind::unsupported);
      return e.at(range);
    }
    auto loc = resolver(arg.text);
    if (!loc) {
      Error e = loc.error();
      return e.at(range);
    }
    if (loc->kind == ArgLocationKind::in_xmm) {
      arg.base = FetchBase::xmm;
      arg.xmm = loc->xmm;
    } else if (loc->kind == ArgLocationKind::immediate) {
      arg.base = FetchBase::immediate;
      arg.immediate = loc->value;
    } else {
      arg.base = FetchBase::reg;
      arg.reg = loc->reg;
    }
    bool whole = arg.derefs.empty();  // the parameter itself, not something it points to
    if (loc->kind == ArgLocationKind::in_memory) arg.derefs.insert(arg.derefs.begin(), loc->offset);
    // DWARF's type applies to the parameter itself, not to what a
    // dereference of it reads.
    if (!arg.type_given && loc->type && whole) arg.type = *loc->type;
    // A string parameter passed on the stack: the slot holds the pointer,
    // and the string is where it points (the last dereference's address).
    if (whole && loc->kind == ArgLocationKind::in_memory && arg.type.kind == TypeKind::string) arg.derefs.push_back(0);
  }
  return {};
}

Result<EventFetcher> EventFetcher::make(Definition def, const ArgResolver& resolver) {
  bool needs = false;
  for (const auto& a : def.args) needs |= a.base == FetchBase::arg_name;
  if (needs) PK_TRY(resolve_arg_names(def, resolver));
  return EventFetcher(std::move(def));
}

std::vector<FetchedArg> EventFetcher::fetch_all(HitContext& ctx) {
  std::vector<FetchedArg> out;
  out.reserve(def_.args.size());
  for (const auto& a : def_.args) {
    auto v = fetch(a, ctx, &cache_);
    out.push_back({a.name, v ? std::move(*v) : fault(v.error().message())});
  }
  return out;
}

}  // namespace probekit::trace
