// d/types.h — the static types of D expressions.
//
// D is typed like C. Structs and unions are laid out by the parser
// (ProgramAst::structs); a Type names one by its tag, as a pointer to it or,
// with `object`, as a value of it. Integers keep their width and signedness
// because D follows C's rules: `(uint8_t)300` is 44 and `(char)200 < 0`. Pointers are 64-bit
// unsigned integers that print as addresses. Strings are values, compared by
// content. `stack` and `symbol` come from ustack()/ufunc()/usym()/umod()/
// uaddr() and are only stored, keyed on and printed.
#pragma once

#include <cstdint>
#include <string>

namespace probekit::d {

struct Type {
  // floating: float (size 4) and double (size 8), which DTrace lets a
  // program hold, compare with its own type and print (printf %e %f %g,
  // trace), but not compute with.
  enum class Kind : uint8_t { none, integer, pointer, string, stack, symbol, floating };
  Kind kind = Kind::none;
  uint8_t size = 8;  // bytes, integers and pointers
  bool is_signed = true;
  // Pointers: what `*p` reads from the target (0 = void *, cannot be read).
  uint8_t pointee_size = 0;
  bool pointee_signed = false;
  // Pointers to a struct or union: its index + 1 in ProgramAst::structs
  // (what `p->member` reads), 0 otherwise.
  uint16_t tag = 0;
  // A struct or union value (a D variable `struct foo x;`, `x.inner`, `*p`):
  // kind pointer with its tag, evaluated as the address of its bytes (D's
  // own variable memory, alloca() scratch or the target's), which `.member`
  // reads at an offset as `->` does. Not a scalar: only member access,
  // whole assignment from the same type, print() and trace() use it.
  bool object = false;
  // A `string *` (dtrace-utils' funcs/alloca/tst.string-alloca): *p is a
  // string of strsize bytes at p.
  bool pointee_string = false;

  static Type none() { return Type{}; }
  static Type integer(uint8_t size = 8, bool is_signed = true) {
    return Type{Kind::integer, size, is_signed};
  }
  static Type pointer(uint8_t pointee_size = 0, bool pointee_signed = false) {
    return Type{Kind::pointer, 8, false, pointee_size, pointee_signed};
  }
  static Type string() { return Type{Kind::string, 0, false}; }
  static Type stack() { return Type{Kind::stack, 0, false}; }
  static Type symbol() { return Type{Kind::symbol, 8, false}; }
  static Type floating(uint8_t size) { return Type{Kind::floating, size, false}; }
  static Type aggregate(uint16_t tag) {
    Type t = pointer();
    t.tag = tag;
    t.object = true;
    return t;
  }

  bool is_none() const { return kind == Kind::none; }
  bool is_integer() const { return kind == Kind::integer; }
  // Integers and pointers: what arithmetic and predicates accept.
  bool is_scalar() const { return (kind == Kind::integer || kind == Kind::pointer) && !object; }
  bool is_string() const { return kind == Kind::string; }
  bool is_floating() const { return kind == Kind::floating; }
  bool operator==(const Type& o) const {
    return kind == o.kind && object == o.object && (!object || tag == o.tag) && (!is_scalar() || (size == o.size && is_signed == o.is_signed)) &&
           (!is_floating() || size == o.size);
  }

  // "int", "uint64_t", "char", "void *", "string", "stack", "symbol".
  std::string name() const;
};

// The common type of two scalar types, as dtrace's dt_type_promote() picks
// it: the wider, or the unsigned of two as wide (no promotion to int).
Type common_type(Type a, Type b);

// The integer of `value` interpreted as `t` (truncated to t.size bytes, then
// sign- or zero-extended back to 64 bits).
inline int64_t normalize_to(Type t, int64_t value) {
  switch (t.size) {
  case 1: return t.is_signed ? static_cast<int64_t>(static_cast<int8_t>(value))
                             : static_cast<int64_t>(static_cast<uint8_t>(value));
  case 2: return t.is_signed ? static_cast<int64_t>(static_cast<int16_t>(value))
                             : static_cast<int64_t>(static_cast<uint16_t>(value));
  case 4: return t.is_signed ? static_cast<int64_t>(static_cast<int32_t>(value))
                             : static_cast<int64_t>(static_cast<uint32_t>(value));
  default: return value;
  }
}

}  // namespace probekit::d
