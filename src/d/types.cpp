#include "d/types.h"

namespace probekit::d {

std::string Type::name() const {
  switch (kind) {
  case Kind::none: return "void";
  case Kind::string: return "string";
  case Kind::stack: return "stack";
  case Kind::symbol: return "symbol";
  case Kind::floating: return size == 4 ? "float" : size == 16 ? "long double" : "double";
  case Kind::pointer:
    if (object) return "struct or union";  // the struct's name is the AST's (StructType::name)
    if (pointee_string) return "string *";
    switch (pointee_size) {
    case 0: return "void *";
    case 1: return pointee_signed ? "char *" : "uint8_t *";
    case 2: return pointee_signed ? "int16_t *" : "uint16_t *";
    case 4: return pointee_signed ? "int *" : "uint32_t *";
    default: return pointee_signed ? "int64_t *" : "uint64_t *";
    }
  case Kind::integer:
    switch (size) {
    case 1: return is_signed ? "char" : "uint8_t";
    case 2: return is_signed ? "short" : "uint16_t";
    case 4: return is_signed ? "int" : "uint32_t";
    default: return is_signed ? "int64_t" : "uint64_t";
    }
  }
  return "void";
}

Type common_type(Type a, Type b) {
  // Pointers behave as uint64_t in arithmetic.
  if (a.kind == Type::Kind::pointer) a = Type::integer(8, false);
  if (b.kind == Type::Kind::pointer) b = Type::integer(8, false);
  // dtrace's dt_type_promote(), not C's: no promotion to int; the type of
  // greater rank (bits, plus one when unsigned) wins, so uint8_t + char is
  // a uint8_t and (uint8_t)254 + 3 prints 1.
  const int rank_a = a.size * 8 + !a.is_signed;
  const int rank_b = b.size * 8 + !b.is_signed;
  const Type& wins = rank_a >= rank_b ? a : b;
  return Type::integer(wins.size, wins.is_signed);
}

}  // namespace probekit::d
