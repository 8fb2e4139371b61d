// dwarf/debug_info.cpp — reading functions out of DWARF with libdw, and the
// System V AMD64 classification that places each parameter at entry.
//
// The walk visits every compile unit once, descending only into namespaces
// and class bodies (where C++ definitions and declarations live), and keeps
// each subprogram that has code (low_pc or ranges). Names and types are read
// with dwarf_attr_integrate so that C++ out-of-class definitions
// (DW_AT_specification) and out-of-line copies of inline functions
// (DW_AT_abstract_origin) get their declaration's name and parameters.
//
// Classification follows the ABI document (section 3.2.3): each eightbyte of
// an argument is INTEGER, SSE, X87 or MEMORY from the scalar fields it
// covers; arguments that do not fit the remaining registers go to the stack
// as a whole. That is enough for every C type and for C++ types that DWARF
// marks pass-by-reference (non-trivial copy or destructor).
#include "dwarf/debug_info.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>

#include "elf/elf_file.h"
#include "util/fd.h"

namespace probekit::dwarf {

struct DebugInfo::Handles {
  Fd fd;
  Dwarf* dbg = nullptr;
  Handles() = default;
  Handles(const Handles&) = delete;
  Handles& operator=(const Handles&) = delete;
  ~Handles() {
    if (dbg != nullptr) dwarf_end(dbg);
  }
};

DebugInfo::~DebugInfo() = default;

namespace {

constexpr int kMaxTypeDepth = 24;  // cycles are impossible in valid DWARF, but depth is cheap to bound
constexpr int kGprCount = 6;
constexpr int kXmmCount = 8;

const char* attr_string(Dwarf_Die* die, int attr) {
  Dwarf_Attribute a;
  if (dwarf_attr_integrate(die, attr, &a) == nullptr) return nullptr;
  return dwarf_formstring(&a);
}

bool attr_udata(Dwarf_Die* die, int attr, Dwarf_Word* out) {
  Dwarf_Attribute a;
  if (dwarf_attr_integrate(die, attr, &a) == nullptr) return false;
  return dwarf_formudata(&a, out) == 0;
}

bool attr_flag(Dwarf_Die* die, int attr) {
  Dwarf_Attribute a;
  bool flag = false;
  if (dwarf_attr_integrate(die, attr, &a) == nullptr) return false;
  return dwarf_formflag(&a, &flag) == 0 && flag;
}

// The DIE a DW_AT_type points to; false for "no type" (void).
bool type_of(Dwarf_Die* die, Dwarf_Die* out) {
  Dwarf_Attribute a;
  if (dwarf_attr_integrate(die, DW_AT_type, &a) == nullptr) return false;
  return dwarf_formref_die(&a, out) != nullptr;
}

bool is_qualifier(int tag) {
  return tag == DW_TAG_const_type || tag == DW_TAG_volatile_type || tag == DW_TAG_restrict_type ||
         tag == DW_TAG_atomic_type || tag == DW_TAG_typedef;
}

// Strips typedefs and cv-qualifiers; false when that leads to void.
bool peel(Dwarf_Die* die, Dwarf_Die* out) {
  Dwarf_Die cur = *die;
  for (int i = 0; i < kMaxTypeDepth && is_qualifier(dwarf_tag(&cur)); ++i) {
    Dwarf_Die next;
    if (!type_of(&cur, &next)) return false;
    cur = next;
  }
  *out = cur;
  return true;
}

class TypeReader {
public:
  explicit TypeReader(bool cxx) : cxx_(cxx) {}

  Type read(Dwarf_Die* die) {
    Type t;
    if (die == nullptr) {
      t.name = "void";
      t.cls = TypeClass::void_;
      return t;
    }
    t.name = spell(die, 0);
    Dwarf_Die p;
    if (!peel(die, &p)) {
      t.cls = TypeClass::void_;
      return t;
    }
    t.cls = classify(&p);
    t.size = size_of(&p);
    return t;
  }

  static size_t size_of(Dwarf_Die* peeled) {
    int tag = dwarf_tag(peeled);
    Dwarf_Word size = 0;
    if (tag == DW_TAG_pointer_type || tag == DW_TAG_reference_type || tag == DW_TAG_rvalue_reference_type) {
      return attr_udata(peeled, DW_AT_byte_size, &size) ? size : 8;
    }
    if (dwarf_aggregate_size(peeled, &size) == 0) return size;
    return 0;
  }

private:
  static TypeClass classify(Dwarf_Die* p) {
    switch (dwarf_tag(p)) {
      case DW_TAG_base_type: {
        Dwarf_Word enc = 0;
        attr_udata(p, DW_AT_encoding, &enc);
        switch (enc) {
          case DW_ATE_boolean: return TypeClass::boolean;
          case DW_ATE_signed: return TypeClass::signed_int;
          case DW_ATE_unsigned: return TypeClass::unsigned_int;
          case DW_ATE_signed_char:
          case DW_ATE_unsigned_char:
          case DW_ATE_UTF: return TypeClass::character;
          case DW_ATE_float: return TypeClass::floating;
          default: return TypeClass::other;
        }
      }
      case DW_TAG_pointer_type: {
        Dwarf_Die pointee;
        Dwarf_Die pp;
        if (type_of(p, &pointee) && peel(&pointee, &pp) && dwarf_tag(&pp) == DW_TAG_base_type) {
          Dwarf_Word enc = 0;
          Dwarf_Word size = 0;
          attr_udata(&pp, DW_AT_encoding, &enc);
          attr_udata(&pp, DW_AT_byte_size, &size);
          if ((enc == DW_ATE_signed_char || enc == DW_ATE_unsigned_char) && size == 1) return TypeClass::string;
        }
        return TypeClass::pointer;
      }
      case DW_TAG_reference_type:
      case DW_TAG_rvalue_reference_type:
      case DW_TAG_ptr_to_member_type: return TypeClass::pointer;
      case DW_TAG_enumeration_type: return TypeClass::enumeration;
      case DW_TAG_structure_type:
      case DW_TAG_class_type:
      case DW_TAG_union_type: return TypeClass::structure;
      default: return TypeClass::other;
    }
  }

  std::string spell(Dwarf_Die* die, int depth) {
    if (depth > kMaxTypeDepth) return "?";
    const char* name = dwarf_diename(die);
    Dwarf_Die inner;
    bool has_inner = type_of(die, &inner);
    auto inner_spelling = [&]() { return has_inner ? spell(&inner, depth + 1) : std::string("void"); };
    switch (dwarf_tag(die)) {
      case DW_TAG_base_type: return name != nullptr ? c_spelling(name) : "?";
      case DW_TAG_unspecified_type:
      case DW_TAG_typedef: return name != nullptr ? name : "?";
      case DW_TAG_structure_type: return tagged(cxx_ ? "" : "struct ", name);
      case DW_TAG_class_type: return tagged("", name);
      case DW_TAG_union_type: return tagged(cxx_ ? "" : "union ", name);
      case DW_TAG_enumeration_type: return tagged(cxx_ ? "" : "enum ", name);
      case DW_TAG_pointer_type:
        if (has_inner && dwarf_tag(&inner) == DW_TAG_subroutine_type) return spell_function(&inner, "(*)", depth);
        return pointer_to(inner_spelling(), "*");
      case DW_TAG_reference_type: return pointer_to(inner_spelling(), "&");
      case DW_TAG_rvalue_reference_type: return pointer_to(inner_spelling(), "&&");
      case DW_TAG_const_type: return qualified("const", has_inner ? &inner : nullptr, inner_spelling());
      case DW_TAG_volatile_type: return qualified("volatile", has_inner ? &inner : nullptr, inner_spelling());
      case DW_TAG_restrict_type: return inner_spelling() + " restrict";
      case DW_TAG_atomic_type: return "_Atomic " + inner_spelling();
      case DW_TAG_subroutine_type: return spell_function(die, "", depth);
      case DW_TAG_array_type: {
        std::string dims;
        Dwarf_Die child;
        if (dwarf_child(die, &child) == 0) {
          do {
            if (dwarf_tag(&child) != DW_TAG_subrange_type) continue;
            Dwarf_Word n = 0;
            Dwarf_Word upper = 0;
            if (attr_udata(&child, DW_AT_count, &n)) {
              dims += "[" + std::to_string(n) + "]";
            } else if (attr_udata(&child, DW_AT_upper_bound, &upper)) {
              dims += "[" + std::to_string(upper + 1) + "]";
            } else {
              dims += "[]";
            }
          } while (dwarf_siblingof(&child, &child) == 0);
        }
        return inner_spelling() + " " + dims;
      }
      case DW_TAG_ptr_to_member_type: return inner_spelling() + " ::*";
      default: return name != nullptr ? name : "?";
    }
  }

  // GCC names base types "long unsigned int"; people write "unsigned long".
  static std::string c_spelling(std::string_view gcc) {
    static const std::pair<std::string_view, std::string_view> names[] = {
        {"long int", "long"},
        {"long unsigned int", "unsigned long"},
        {"short int", "short"},
        {"short unsigned int", "unsigned short"},
        {"long long int", "long long"},
        {"long long unsigned int", "unsigned long long"},
        {"__int128 unsigned", "unsigned __int128"},
    };
    for (const auto& [from, to] : names) {
      if (gcc == from) return std::string(to);
    }
    return std::string(gcc);
  }

  std::string tagged(const char* prefix, const char* name) const {
    return std::string(prefix) + (name != nullptr ? name : "<anonymous>");
  }

  static std::string pointer_to(const std::string& inner, const char* op) {
    char last = inner.empty() ? ' ' : inner.back();
    return inner + (last == '*' || last == '&' ? "" : " ") + op;
  }

  // "const char" but "char * const": a qualifier binds to the left of a pointer.
  static std::string qualified(const char* q, Dwarf_Die* inner, const std::string& inner_spelling) {
    if (inner != nullptr && dwarf_tag(inner) == DW_TAG_pointer_type) return inner_spelling + " " + q;
    return std::string(q) + " " + inner_spelling;
  }

  std::string spell_function(Dwarf_Die* fn, const char* declarator, int depth) {
    Dwarf_Die ret;
    std::string out = type_of(fn, &ret) ? spell(&ret, depth + 1) : "void";
    out += std::string(" ") + declarator + "(";
    bool first = true;
    Dwarf_Die child;
    if (dwarf_child(fn, &child) == 0) {
      do {
        int tag = dwarf_tag(&child);
        if (tag != DW_TAG_formal_parameter && tag != DW_TAG_unspecified_parameters) continue;
        if (!first) out += ", ";
        first = false;
        Dwarf_Die pt;
        if (tag == DW_TAG_unspecified_parameters) {
          out += "...";
        } else {
          out += type_of(&child, &pt) ? spell(&pt, depth + 1) : "void";
        }
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    if (first && !cxx_) out += "void";
    return out + ")";
  }

  bool cxx_;
};

// ---- System V AMD64 classification -------------------------------------

enum class ArgClass { none, integer, sse, x87, memory };

ArgClass merge(ArgClass a, ArgClass b) {
  if (a == b) return a;
  if (a == ArgClass::none) return b;
  if (b == ArgClass::none) return a;
  if (a == ArgClass::memory || b == ArgClass::memory) return ArgClass::memory;
  if (a == ArgClass::integer || b == ArgClass::integer) return ArgClass::integer;
  if (a == ArgClass::x87 || b == ArgClass::x87) return ArgClass::memory;
  return ArgClass::sse;
}

struct Classification {
  ArgClass eb[2] = {ArgClass::none, ArgClass::none};
  size_t size = 0;
  size_t align = 8;
  bool in_memory = false;   // passed (or returned) in memory
  bool by_reference = false;  // C++ non-trivial type: a pointer to a copy is passed
};

bool is_aggregate_tag(int tag) {
  return tag == DW_TAG_structure_type || tag == DW_TAG_class_type || tag == DW_TAG_union_type;
}

// Itanium C++ ABI: a class with a non-trivial copy constructor, move
// constructor or destructor (its own, a base's or a member's) is passed by
// invisible reference. GCC 12 does not emit DW_AT_calling_convention, so this
// is read from the member functions DWARF declares: trivial implicit ones
// are never declared, user-provided ones are (and "= default" in the class
// body is marked DW_AT_defaulted and decided by bases and members).
class TrivialityCache {
public:
  bool non_trivial(Dwarf_Die* cls, int depth = 0) {
    Dwarf_Off off = dwarf_dieoffset(cls);
    auto it = cache_.find(off);
    if (it != cache_.end()) return it->second;
    cache_[off] = false;  // provisional, cuts recursion through odd DWARF
    bool result = depth <= kMaxTypeDepth && compute(cls, depth);
    cache_[off] = result;
    return result;
  }

private:
  bool compute(Dwarf_Die* cls, int depth) {
    Dwarf_Word cc = 0;
    if (attr_udata(cls, DW_AT_calling_convention, &cc)) return cc == DW_CC_pass_by_reference;
    const char* cname = dwarf_diename(cls);
    std::string_view class_name = cname != nullptr ? cname : "";
    class_name = class_name.substr(0, class_name.find('<'));
    Dwarf_Die child;
    if (dwarf_child(cls, &child) != 0) return false;
    do {
      int tag = dwarf_tag(&child);
      if (tag == DW_TAG_subprogram) {
        if (special_member(&child, class_name)) return true;
      } else if (tag == DW_TAG_inheritance || tag == DW_TAG_member) {
        if (attr_flag(&child, DW_AT_external) || attr_flag(&child, DW_AT_declaration)) continue;
        Dwarf_Die t;
        Dwarf_Die p;
        if (!type_of(&child, &t) || !peel(&t, &p)) continue;
        while (dwarf_tag(&p) == DW_TAG_array_type) {
          Dwarf_Die e;
          if (!type_of(&p, &e) || !peel(&e, &p)) break;
        }
        if (is_aggregate_tag(dwarf_tag(&p)) && non_trivial(&p, depth + 1)) return true;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
    return false;
  }

  // A user-provided destructor, or copy/move constructor (first parameter
  // after this: a reference to the class).
  static bool special_member(Dwarf_Die* fn, std::string_view class_name) {
    Dwarf_Word defaulted = 0;
    if (attr_udata(fn, DW_AT_defaulted, &defaulted) && defaulted == DW_DEFAULTED_in_class) return false;
    if (attr_flag(fn, DW_AT_deleted)) return false;
    const char* n = dwarf_diename(fn);
    if (n == nullptr || class_name.empty()) return false;
    std::string_view name = n;
    if (name.size() == class_name.size() + 1 && name[0] == '~' && name.substr(1) == class_name) return true;
    if (name.substr(0, name.find('<')) != class_name) return false;
    Dwarf_Die param;
    if (dwarf_child(fn, &param) != 0) return false;
    int index = 0;
    do {
      if (dwarf_tag(&param) != DW_TAG_formal_parameter) continue;
      if (index++ == 0) continue;  // this
      Dwarf_Die t;
      Dwarf_Die p;
      if (!type_of(&param, &t) || !peel(&t, &p)) return false;
      int tag = dwarf_tag(&p);
      if (tag != DW_TAG_reference_type && tag != DW_TAG_rvalue_reference_type) return false;
      Dwarf_Die target;
      Dwarf_Die pt;
      if (!type_of(&p, &target) || !peel(&target, &pt) || !is_aggregate_tag(dwarf_tag(&pt))) return false;
      const char* tn = dwarf_diename(&pt);
      std::string_view target_name = tn != nullptr ? tn : "";
      // Only a one-parameter constructor taking its own class is a copy or move.
      Dwarf_Die next = param;
      while (dwarf_siblingof(&next, &next) == 0) {
        if (dwarf_tag(&next) == DW_TAG_formal_parameter) return false;
      }
      return target_name.substr(0, target_name.find('<')) == class_name;
    } while (dwarf_siblingof(&param, &param) == 0);
    return false;
  }

  std::unordered_map<Dwarf_Off, bool> cache_;
};

class Classifier {
public:
  // Classifies a whole argument of (unpeeled) type die. trivia is null for C.
  static Classification classify(Dwarf_Die* die, TrivialityCache* trivia) {
    Classification c;
    Dwarf_Die p;
    if (die == nullptr || !peel(die, &p)) return c;
    c.size = TypeReader::size_of(&p);
    int tag = dwarf_tag(&p);
    if (is_aggregate_tag(tag)) {
      if (trivia != nullptr && trivia->non_trivial(&p)) {
        c.by_reference = true;
        c.eb[0] = ArgClass::integer;
        c.size = 8;
        return c;
      }
      if (c.size > 16) {
        c.in_memory = true;
        c.align = 8;
        return c;
      }
    }
    Classifier walker(&c);
    walker.leaf_or_aggregate(&p, 0, 0);
    if (walker.memory_) c.in_memory = true;
    for (ArgClass e : c.eb) {
      if (e == ArgClass::memory || e == ArgClass::x87) c.in_memory = true;
    }
    // A 16-byte long double is X87 + X87UP: memory as an argument.
    c.align = std::max<size_t>(walker.max_align_, 8);
    return c;
  }

private:
  explicit Classifier(Classification* c) : c_(c) {}

  void mark(uint64_t offset, size_t size, ArgClass cls) {
    if (size == 0) return;
    size_t natural = std::min<size_t>(size, 16);
    if (offset % natural != 0) memory_ = true;  // unaligned field (packed struct)
    max_align_ = std::max(max_align_, natural);
    for (uint64_t o = offset / 8; o <= (offset + size - 1) / 8; ++o) {
      if (o > 1) {
        memory_ = true;
        return;
      }
      c_->eb[o] = merge(c_->eb[o], cls);
    }
  }

  void leaf_or_aggregate(Dwarf_Die* die, uint64_t offset, int depth) {
    if (depth > kMaxTypeDepth) {
      memory_ = true;
      return;
    }
    Dwarf_Die p;
    if (!peel(die, &p)) return;
    size_t size = TypeReader::size_of(&p);
    switch (dwarf_tag(&p)) {
      case DW_TAG_base_type: {
        Dwarf_Word enc = 0;
        attr_udata(&p, DW_AT_encoding, &enc);
        const char* name = dwarf_diename(&p);
        if (enc == DW_ATE_float) {
          if (size == 16 && name != nullptr && std::string_view(name) == "long double") {
            mark(offset, size, ArgClass::x87);
          } else if (size == 16) {
            // __float128: SSE + SSEUP, one xmm register.
            mark(offset, 8, ArgClass::sse);
            max_align_ = 16;
          } else {
            mark(offset, size, ArgClass::sse);
          }
        } else if (enc == DW_ATE_complex_float) {
          if (size == 32) {
            mark(offset, 16, ArgClass::x87);
          } else if (size == 16) {
            mark(offset, 8, ArgClass::sse);
            mark(offset + 8, 8, ArgClass::sse);
          } else {
            mark(offset, size, ArgClass::sse);
          }
        } else {
          mark(offset, size, ArgClass::integer);
        }
        return;
      }
      case DW_TAG_pointer_type:
      case DW_TAG_reference_type:
      case DW_TAG_rvalue_reference_type:
      case DW_TAG_enumeration_type:
      case DW_TAG_ptr_to_member_type: mark(offset, size == 0 ? 8 : size, ArgClass::integer); return;
      case DW_TAG_structure_type:
      case DW_TAG_class_type:
      case DW_TAG_union_type: {
        Dwarf_Die child;
        if (dwarf_child(&p, &child) != 0) return;
        do {
          int tag = dwarf_tag(&child);
          if (tag != DW_TAG_member && tag != DW_TAG_inheritance) continue;
          if (attr_flag(&child, DW_AT_external) || attr_flag(&child, DW_AT_declaration)) continue;  // static member
          Dwarf_Word member_off = 0;
          Dwarf_Word bit_off = 0;
          if (attr_udata(&child, DW_AT_bit_size, &bit_off)) {
            // Bit-fields are integer storage; where exactly does not change the class.
            Dwarf_Word data_bit_off = 0;
            if (attr_udata(&child, DW_AT_data_bit_offset, &data_bit_off)) {
              mark(offset + data_bit_off / 8 / 4 * 4, 4, ArgClass::integer);
            } else {
              attr_udata(&child, DW_AT_data_member_location, &member_off);
              mark(offset + member_off, 1, ArgClass::integer);
            }
            continue;
          }
          attr_udata(&child, DW_AT_data_member_location, &member_off);  // absent in a union: 0
          Dwarf_Die mt;
          if (type_of(&child, &mt)) leaf_or_aggregate(&mt, offset + member_off, depth + 1);
        } while (dwarf_siblingof(&child, &child) == 0);
        return;
      }
      case DW_TAG_array_type: {
        Dwarf_Die elem;
        if (!type_of(&p, &elem)) return;
        Dwarf_Die pe;
        if (!peel(&elem, &pe)) return;
        size_t esize = TypeReader::size_of(&pe);
        if (esize == 0) return;
        for (uint64_t o = 0; o + esize <= size && o < 16; o += esize) leaf_or_aggregate(&elem, offset + o, depth + 1);
        return;
      }
      default: memory_ = true; return;
    }
  }

  Classification* c_;
  bool memory_ = false;
  size_t max_align_ = 1;
};

// Hands out registers and stack slots in parameter order.
class ArgAllocator {
public:
  explicit ArgAllocator(bool hidden_return) : gpr_(hidden_return ? 1 : 0) {}

  ArgLocation place(const Classification& c) {
    ArgLocation loc;
    if (c.eb[0] == ArgClass::none && c.eb[1] == ArgClass::none && !c.in_memory) {
      loc.kind = ArgLocation::Kind::stack;  // an empty class: passed nowhere
      loc.index = -1;
      return loc;
    }
    if (!c.in_memory) {
      int need_gpr = 0;
      int need_xmm = 0;
      for (ArgClass e : c.eb) {
        if (e == ArgClass::integer) ++need_gpr;
        if (e == ArgClass::sse) ++need_xmm;
      }
      if (gpr_ + need_gpr <= kGprCount && xmm_ + need_xmm <= kXmmCount) {
        bool first = true;
        for (ArgClass e : c.eb) {
          if (e == ArgClass::none) continue;
          ArgLocation::Kind kind = e == ArgClass::integer ? ArgLocation::Kind::gpr : ArgLocation::Kind::xmm;
          int index = e == ArgClass::integer ? gpr_++ : xmm_++;
          if (first) {
            loc.kind = kind;
            loc.index = index;
            first = false;
          } else {
            loc.kind2 = kind;
            loc.index2 = index;
          }
        }
        return loc;
      }
    }
    // On the stack, in order; offsets are relative to rsp at entry, where the
    // return address sits at 0 and the caller's 16-aligned area starts at 8.
    size_t align = std::max<size_t>(c.align, 8);
    stack_ = (stack_ + align - 1) / align * align;
    loc.kind = ArgLocation::Kind::stack;
    loc.index = static_cast<int>(8 + stack_);
    stack_ += (std::max<size_t>(c.size, 1) + 7) / 8 * 8;
    return loc;
  }

private:
  int gpr_;
  int xmm_ = 0;
  size_t stack_ = 0;
};

}  // namespace

// Walks the DWARF of one object into a DebugInfo.
class DwarfLoader {
public:
  DwarfLoader(DebugInfo& info, const std::shared_ptr<const elf::ElfFile>& elf) : info_(info), elf_(elf) {}

  void load(Dwarf* dbg) {
    Dwarf_CU* cu = nullptr;
    Dwarf_Die cudie;
    uint8_t unit_type = 0;
    while (dwarf_get_units(dbg, cu, &cu, nullptr, &unit_type, &cudie, nullptr) == 0) {
      if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
      int lang = dwarf_srclang(&cudie);
      cxx_ = lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 || lang == DW_LANG_C_plus_plus_11 ||
             lang == DW_LANG_C_plus_plus_14;
      walk(&cudie, 0);
    }
    finish();
  }

private:
  void walk(Dwarf_Die* parent, int depth) {
    if (depth > kMaxTypeDepth) return;
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) return;
    do {
      switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram: subprogram(&child); break;
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type: walk(&child, depth + 1); break;
        default: break;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }

  // The DIE whose children list the declared parameters: the concrete DIE
  // when it lists any, else its abstract origin or specification.
  static bool declaring_die(Dwarf_Die* die, int attr, Dwarf_Die* out) {
    Dwarf_Attribute a;
    if (dwarf_attr(die, attr, &a) == nullptr) return false;
    return dwarf_formref_die(&a, out) != nullptr;
  }

  static bool has_child(Dwarf_Die* die, int tag) {
    Dwarf_Die c;
    if (dwarf_child(die, &c) != 0) return false;
    do {
      if (dwarf_tag(&c) == tag) return true;
    } while (dwarf_siblingof(&c, &c) == 0);
    return false;
  }

  void subprogram(Dwarf_Die* die) {
    Dwarf_Addr low = 0;
    Dwarf_Addr high = 0;
    if (dwarf_lowpc(die, &low) == 0) {
      if (dwarf_highpc(die, &high) != 0) high = low;
    } else {
      // Hot/cold split functions have only DW_AT_ranges; the entry is in the first.
      Dwarf_Addr base = 0;
      if (dwarf_ranges(die, 0, &base, &low, &high) <= 0) return;  // a declaration or inline-only
      Dwarf_Addr entry = 0;
      if (dwarf_entrypc(die, &entry) == 0 && entry != low) {
        // Pick the range that holds the entry point.
        ptrdiff_t off = 0;
        Dwarf_Addr s = 0;
        Dwarf_Addr e = 0;
        while ((off = dwarf_ranges(die, off, &base, &s, &e)) > 0) {
          if (entry >= s && entry < e) {
            low = entry;
            high = e;
            break;
          }
        }
      }
    }
    // Functions the linker discarded (--gc-sections, COMDAT duplicates) keep
    // their DWARF with a tombstone address.
    if (low == 0 || low >= ~Dwarf_Addr{1}) return;
    Function f;
    const char* name = attr_string(die, DW_AT_name);
    const char* linkage = attr_string(die, DW_AT_linkage_name);
    if (linkage == nullptr) linkage = attr_string(die, DW_AT_MIPS_linkage_name);
    if (name == nullptr && linkage == nullptr) return;
    f.name = name != nullptr ? name : "";
    f.linkage_name = linkage != nullptr ? linkage : "";
    f.low_pc = low;
    f.high_pc = high;
    const char* file = dwarf_decl_file(die);
    if (file != nullptr) f.decl_file = file;
    int line = 0;
    if (dwarf_decl_line(die, &line) == 0) f.decl_line = line;

    TypeReader types(cxx_);
    Dwarf_Die ret;
    bool has_ret = type_of(die, &ret);
    f.return_type = types.read(has_ret ? &ret : nullptr);
    Classification ret_class;
    if (has_ret) ret_class = Classifier::classify(&ret, cxx_ ? &trivia_ : nullptr);
    Dwarf_Die peeled_ret;
    bool ret_aggregate = has_ret && peel(&ret, &peeled_ret) &&
                         (dwarf_tag(&peeled_ret) == DW_TAG_structure_type ||
                          dwarf_tag(&peeled_ret) == DW_TAG_class_type || dwarf_tag(&peeled_ret) == DW_TAG_union_type);
    // long double comes back in st0; only aggregates use a hidden pointer.
    f.returns_in_memory = ret_aggregate && (ret_class.in_memory || ret_class.by_reference);

    // Parameters: from the concrete DIE if it lists them, else from the
    // declaration (abstract origin / specification).
    Dwarf_Die params_die = *die;
    if (!has_child(die, DW_TAG_formal_parameter)) {
      Dwarf_Die decl;
      if ((declaring_die(die, DW_AT_abstract_origin, &decl) || declaring_die(die, DW_AT_specification, &decl)) &&
          has_child(&decl, DW_TAG_formal_parameter)) {
        params_die = decl;
      }
    }
    f.varargs = has_child(die, DW_TAG_unspecified_parameters);
    Dwarf_Die origin;
    if (!f.varargs && declaring_die(die, DW_AT_abstract_origin, &origin)) {
      f.varargs = has_child(&origin, DW_TAG_unspecified_parameters);
    }
    if (!f.varargs && declaring_die(die, DW_AT_specification, &origin)) {
      f.varargs = has_child(&origin, DW_TAG_unspecified_parameters);
    }

    ArgAllocator alloc(f.returns_in_memory);
    Dwarf_Die c;
    if (dwarf_child(&params_die, &c) == 0) {
      do {
        if (dwarf_tag(&c) != DW_TAG_formal_parameter) continue;
        Parameter p;
        const char* pname = attr_string(&c, DW_AT_name);
        p.name = pname != nullptr ? pname : "";
        Dwarf_Die pt;
        bool has_type = type_of(&c, &pt);
        p.type = types.read(has_type ? &pt : nullptr);
        p.location = alloc.place(Classifier::classify(has_type ? &pt : nullptr, cxx_ ? &trivia_ : nullptr));
        f.params.push_back(std::move(p));
      } while (dwarf_siblingof(&c, &c) == 0);
    }
    if (elf_) {
      const elf::Symbol* sym = elf_->function_containing(low);
      // foo.isra.0, foo.constprop.0, foo.part.0, foo.cold: GCC's copies with
      // their own calling convention.
      f.clone = sym != nullptr && sym->value == low && sym->name.find('.') != std::string::npos;
    }
    info_.functions_.push_back(std::move(f));
  }

  void finish() {
    auto& fns = info_.functions_;
    std::stable_sort(fns.begin(), fns.end(), [](const Function& a, const Function& b) { return a.low_pc < b.low_pc; });
    // The same definition can appear twice (partial units, LTO); keep the first.
    fns.erase(std::unique(fns.begin(), fns.end(),
                          [](const Function& a, const Function& b) {
                            return a.low_pc == b.low_pc && a.name == b.name && a.linkage_name == b.linkage_name;
                          }),
              fns.end());
    for (uint32_t i = 0; i < fns.size(); ++i) {
      const Function& f = fns[i];
      if (!f.name.empty()) info_.by_name_.emplace(f.name, i);
      if (!f.linkage_name.empty() && f.linkage_name != f.name) {
        info_.by_name_.emplace(f.linkage_name, i);
        std::string base = elf::strip_parameters(elf::demangle(f.linkage_name));
        if (base != f.name && base != f.linkage_name) info_.by_name_.emplace(std::move(base), i);
      }
      info_.by_pc_.emplace(f.low_pc, i);
    }
  }

  DebugInfo& info_;
  std::shared_ptr<const elf::ElfFile> elf_;
  bool cxx_ = false;
  TrivialityCache trivia_;
};

Result<std::unique_ptr<DebugInfo>> DebugInfo::open(const std::string& path, const std::string& debug_root) {
  auto elf = elf::ElfFile::open(path, debug_root);
  if (!elf) return elf.error();
  return open(*elf, debug_root);
}

Result<std::unique_ptr<DebugInfo>> DebugInfo::open(const std::shared_ptr<const elf::ElfFile>& elf,
                                                   const std::string& debug_root) {
  const std::string& path = elf->path();
  auto handles = std::make_unique<Handles>();
  std::string source = path;
  auto try_open = [&](const std::string& p) -> bool {
    auto fd = Fd::open(p, O_RDONLY);
    if (!fd) return false;
    Dwarf* dbg = dwarf_begin(fd->get(), DWARF_C_READ);
    if (dbg == nullptr) return false;
    handles->fd = std::move(*fd);
    handles->dbg = dbg;
    source = p;
    return true;
  };
  if (!try_open(path)) {
    auto debug = elf::find_debug_file(path, elf->build_id(), elf->debuglink(), debug_root,
                                      elf->debuglink().empty() ? std::nullopt
                                                               : std::optional<uint32_t>(elf->debuglink_crc()));
    if (!debug || !try_open(*debug)) {
      return Error("'" + path +
                       "' has no debug information: parameter names and types are unavailable; "
                       "install its debug symbols or rebuild it with -g, and use arg0..argN meanwhile",
                   ErrorKind::unsupported);
    }
  }
  std::unique_ptr<DebugInfo> info(new DebugInfo());
  info->dwarf_file_ = source;
  info->elf_ = elf;
  DwarfLoader loader(*info, elf);
  loader.load(handles->dbg);
  info->handles_ = std::move(handles);
  return info;
}

std::vector<const Function*> DebugInfo::functions(std::string_view name) const {
  std::vector<const Function*> out;
  auto [lo, hi] = by_name_.equal_range(std::string(name));
  for (auto it = lo; it != hi; ++it) out.push_back(&functions_[it->second]);
  if (out.empty() && elf_) {
    for (const elf::Symbol* s : elf_->find(name)) {
      if (const Function* f = function_at(s->value)) out.push_back(f);
    }
  }
  std::sort(out.begin(), out.end(), [](const Function* a, const Function* b) {
    if (a->clone != b->clone) return !a->clone;
    return a->low_pc < b->low_pc;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const Function* DebugInfo::function(std::string_view name) const {
  auto all = functions(name);
  return all.empty() ? nullptr : all.front();
}

const Function* DebugInfo::function_at(uint64_t low_pc) const {
  auto it = by_pc_.find(low_pc);
  return it == by_pc_.end() ? nullptr : &functions_[it->second];
}

namespace {

// The compile unit holding vaddr.
bool unit_at(Dwarf* dbg, uint64_t vaddr, Dwarf_Die* cudie) {
  if (dwarf_addrdie(dbg, vaddr, cudie) != nullptr) return true;
  // No .debug_aranges: ask each unit.
  Dwarf_CU* cu = nullptr;
  uint8_t unit_type = 0;
  while (dwarf_get_units(dbg, cu, &cu, nullptr, &unit_type, cudie, nullptr) == 0)
    if (dwarf_haspc(cudie, vaddr) > 0) return true;
  return false;
}

}  // namespace

std::vector<std::string> DebugInfo::inline_frames(uint64_t vaddr) const {
  std::vector<std::string> out;
  Dwarf_Die cudie;
  if (!handles_ || !unit_at(handles_->dbg, vaddr, &cudie)) return out;
  Dwarf_Die* scopes = nullptr;
  int n = dwarf_getscopes(&cudie, vaddr, &scopes);
  for (int i = 0; i < n; ++i) {
    if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine) continue;
    const char* name = dwarf_diename(&scopes[i]);  // follows DW_AT_abstract_origin
    out.emplace_back(name != nullptr ? name : "??");
  }
  free(scopes);
  return out;
}

std::optional<std::pair<std::string, int>> DebugInfo::source_line(uint64_t vaddr) const {
  Dwarf* dbg = handles_->dbg;
  Dwarf_Die cudie;
  bool found = unit_at(dbg, vaddr, &cudie);
  if (!found) return std::nullopt;
  Dwarf_Line* line = dwarf_getsrc_die(&cudie, vaddr);
  if (line == nullptr) return std::nullopt;
  const char* file = dwarf_linesrc(line, nullptr, nullptr);
  int lineno = 0;
  if (file == nullptr || dwarf_lineno(line, &lineno) != 0) return std::nullopt;
  return std::make_pair(std::string(file), lineno);
}

namespace {

// Reads a struct's members for D (AggregateMember): offsets, bit-fields,
// arrays, pointers, nested aggregates flattened as "outer.inner".
// An enum's DW_TAG_enumerator children, in declaration order.
std::vector<std::pair<int64_t, std::string>> enumerators_of(Dwarf_Die* e) {
  std::vector<std::pair<int64_t, std::string>> out;
  Dwarf_Die c;
  if (dwarf_child(e, &c) != 0) return out;
  do {
    if (dwarf_tag(&c) != DW_TAG_enumerator) continue;
    const char* n = dwarf_diename(&c);
    Dwarf_Attribute a;
    Dwarf_Sword v = 0;
    if (n == nullptr || dwarf_attr(&c, DW_AT_const_value, &a) == nullptr || dwarf_formsdata(&a, &v) != 0) continue;
    out.emplace_back(static_cast<int64_t>(v), n);
  } while (dwarf_siblingof(&c, &c) == 0);
  return out;
}

Enumeration enumeration_from(Dwarf_Die* e) {
  Enumeration out;
  const char* n = dwarf_diename(e);
  out.key = n != nullptr ? std::string("enum ") + n : "enum";
  out.size = TypeReader::size_of(e);
  out.enumerators = enumerators_of(e);
  return out;
}

class AggregateReader {
public:
  void members(Dwarf_Die* agg, const std::string& prefix, uint64_t base, int depth, std::vector<AggregateMember>& out) {
    if (depth > kMaxTypeDepth) return;
    Dwarf_Die child;
    if (dwarf_child(agg, &child) != 0) return;
    do {
      if (dwarf_tag(&child) != DW_TAG_member) continue;
      const char* name = dwarf_diename(&child);
      Dwarf_Word off = 0;
      attr_udata(&child, DW_AT_data_member_location, &off);
      Dwarf_Die t, p;
      if (!type_of(&child, &t)) continue;
      AggregateMember m;
      m.name = prefix + (name != nullptr ? name : "");
      m.offset = base + off;
      m.type_name = TypeReader(false).read(&t).name;
      if (!peel(&t, &p)) continue;
      Dwarf_Word bits = 0, bit_off = 0;
      if (attr_udata(&child, DW_AT_bit_size, &bits)) {
        m.bit_size = static_cast<uint32_t>(bits);
        if (attr_udata(&child, DW_AT_data_bit_offset, &bit_off)) {
          m.offset = base + bit_off / 8;
          m.bit_offset = static_cast<uint32_t>(bit_off % 8);
        } else if (attr_udata(&child, DW_AT_bit_offset, &bit_off)) {  // DWARF 2/3, big-endian numbering
          Dwarf_Word storage = 0;
          if (!attr_udata(&child, DW_AT_byte_size, &storage)) storage = TypeReader::size_of(&p);
          uint64_t lsb = storage * 8 - bit_off - bits;
          m.offset += lsb / 8;
          m.bit_offset = static_cast<uint32_t>(lsb % 8);
        }
      }
      if (dwarf_tag(&p) == DW_TAG_array_type) {
        Dwarf_Die elem, pe;
        Dwarf_Word total = 0;
        if (!type_of(&p, &elem) || !peel(&elem, &pe)) continue;
        scalar(&pe, m);
        if (m.size != 0 && dwarf_aggregate_size(&p, &total) == 0) m.count = total / m.size;
        out.push_back(m);
        continue;
      }
      scalar(&p, m);
      bool nested = is_aggregate_tag(dwarf_tag(&p));
      if (name != nullptr) out.push_back(m);
      if (nested) members(&p, name != nullptr ? m.name + "." : prefix, m.offset, depth + 1, out);
    } while (dwarf_siblingof(&child, &child) == 0);
  }

  static void scalar(Dwarf_Die* p, AggregateMember& m) {
    m.size = TypeReader::size_of(p);
    Type t = TypeReader(false).read(p);
    m.cls = t.cls;
    Dwarf_Word enc = 0;
    if (dwarf_tag(p) == DW_TAG_base_type) attr_udata(p, DW_AT_encoding, &enc);
    m.is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char || dwarf_tag(p) == DW_TAG_enumeration_type;
    if (dwarf_tag(p) == DW_TAG_enumeration_type) m.enumerators = enumerators_of(p);
    if (dwarf_tag(p) == DW_TAG_pointer_type) {
      Dwarf_Die to, pt;
      if (type_of(p, &to) && peel(&to, &pt)) {
        int tag = dwarf_tag(&pt);
        const char* n = dwarf_diename(&pt);
        if ((tag == DW_TAG_structure_type || tag == DW_TAG_union_type) && n != nullptr) {
          m.pointee_aggregate = std::string(tag == DW_TAG_union_type ? "union " : "struct ") + n;
        } else if (tag == DW_TAG_base_type || tag == DW_TAG_enumeration_type) {
          Dwarf_Word e = 0;
          attr_udata(&pt, DW_AT_encoding, &e);
          m.pointee_size = TypeReader::size_of(&pt);
          m.pointee_signed = e == DW_ATE_signed || e == DW_ATE_signed_char || tag == DW_TAG_enumeration_type;
        } else if (tag == DW_TAG_pointer_type) {
          m.pointee_size = 8;
        }
      }
    }
  }
};

// A definition of `name` with tag `tag` (or a typedef `name` of an
// aggregate, when tag is 0) among the DIEs under `parent`.
bool find_definition(Dwarf_Die* parent, int tag, std::string_view name, int depth, Dwarf_Die* out) {
  if (depth > 2) return false;
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return false;
  do {
    int t = dwarf_tag(&child);
    const char* n = dwarf_diename(&child);
    if (t == DW_TAG_namespace) {
      if (find_definition(&child, tag, name, depth + 1, out)) return true;
      continue;
    }
    if (n == nullptr || name != n) continue;
    if (tag == 0 && t == DW_TAG_typedef) {
      Dwarf_Die to;
      if (type_of(&child, &to) && peel(&to, out) && is_aggregate_tag(dwarf_tag(out)) &&
          !attr_flag(out, DW_AT_declaration))
        return true;
      continue;
    }
    bool same = t == tag || (tag == DW_TAG_structure_type && t == DW_TAG_class_type);
    if (same && !attr_flag(&child, DW_AT_declaration)) {
      *out = child;
      return true;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

// The first result `f` gives (an optional) over every unit's DIE.
template <class F>
auto first_in_units(Dwarf* dbg, F&& f) -> decltype(f(static_cast<Dwarf_Die*>(nullptr))) {
  Dwarf_CU* cu = nullptr;
  Dwarf_Die cudie;
  uint8_t unit_type = 0;
  while (dwarf_get_units(dbg, cu, &cu, nullptr, &unit_type, &cudie, nullptr) == 0) {
    if (auto r = f(&cudie)) return r;
  }
  return std::nullopt;
}

// The first result `f` gives (an optional) over parent's children.
template <class F>
auto first_child(Dwarf_Die* parent, F&& f) -> decltype(f(parent)) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return std::nullopt;
  do {
    if (auto r = f(&child)) return r;
  } while (dwarf_siblingof(&child, &child) == 0);
  return std::nullopt;
}

}  // namespace

std::optional<Type> DebugInfo::typedef_type(std::string_view name) const {
  if (!handles_) return std::nullopt;
  return first_in_units(handles_->dbg, [&](Dwarf_Die* unit) {
    return first_child(unit, [&](Dwarf_Die* d) -> std::optional<Type> {
      const char* n = dwarf_diename(d);
      if (dwarf_tag(d) != DW_TAG_typedef || n == nullptr || name != n) return std::nullopt;
      Dwarf_Die to;
      if (!type_of(d, &to)) return Type{"void", TypeClass::void_, 0};
      return TypeReader(false).read(&to);
    });
  });
}

std::optional<Aggregate> DebugInfo::aggregate(std::string_view key) const {
  if (!handles_) return std::nullopt;
  int tag = 0;
  std::string_view name = key;
  if (name.substr(0, 7) == "struct ") {
    tag = DW_TAG_structure_type;
    name.remove_prefix(7);
  } else if (name.substr(0, 6) == "union ") {
    tag = DW_TAG_union_type;
    name.remove_prefix(6);
  }
  return first_in_units(handles_->dbg, [&](Dwarf_Die* unit) -> std::optional<Aggregate> {
    Dwarf_Die def;
    if (!find_definition(unit, tag, name, 0, &def)) return std::nullopt;
    Aggregate a;
    a.key = std::string(key);
    a.is_union = dwarf_tag(&def) == DW_TAG_union_type;
    a.size = TypeReader::size_of(&def);
    AggregateReader().members(&def, "", 0, 0, a.members);
    return a;
  });
}

std::optional<Enumeration> DebugInfo::enumeration(std::string_view key) const {
  if (!handles_ || key.substr(0, 5) != "enum ") return std::nullopt;
  std::string_view name = key.substr(5);
  return first_in_units(handles_->dbg, [&](Dwarf_Die* unit) -> std::optional<Enumeration> {
    Dwarf_Die def;
    if (!find_definition(unit, DW_TAG_enumeration_type, name, 0, &def)) return std::nullopt;
    return enumeration_from(&def);
  });
}

std::optional<Enumeration> DebugInfo::enumeration_with(std::string_view enumerator) const {
  if (!handles_) return std::nullopt;
  return first_in_units(handles_->dbg, [&](Dwarf_Die* unit) {
    return first_child(unit, [&](Dwarf_Die* e) -> std::optional<Enumeration> {
      if (dwarf_tag(e) != DW_TAG_enumeration_type) return std::nullopt;
      auto hit = first_child(e, [&](Dwarf_Die* c) -> std::optional<bool> {
        const char* n = dwarf_diename(c);
        if (dwarf_tag(c) == DW_TAG_enumerator && n != nullptr && enumerator == n) return true;
        return std::nullopt;
      });
      if (!hit) return std::nullopt;
      return enumeration_from(e);
    });
  });
}

}  // namespace probekit::dwarf
