// d/value.h — the values D programs compute, store and aggregate on.
//
// Shared by the compiler/VM (d/vm) and the aggregation and formatting code
// (d/aggregation, d/format). Integers carry their width and signedness so
// that printf("%d") and arithmetic follow C's rules; strings own their bytes;
// stacks (ustack()) and symbols (ufunc(), usym(), uaddr()) are symbolized at
// the hit, while the module is surely still mapped, and kept as text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace probekit::d {

struct Value {
  enum class Kind : uint8_t {
    integer,  // i, with size and is_signed
    string,   // s
    stack,    // s: one frame per line ("libc.so.6`malloc+0x1a"), outermost last
    symbol,   // s: "a.out`work+0x10" (uaddr/usym/ufunc), i: the address
    floating, // i: the bits of a float (size 4) or double (size 8)
  };
  Kind kind = Kind::integer;
  bool is_signed = true;
  uint8_t size = 8;  // bytes: 1, 2, 4 or 8
  int64_t i = 0;     // the bits; read as uint64_t when !is_signed
  std::string s;

  static Value integer(int64_t v, uint8_t size = 8, bool is_signed = true) {
    Value x;
    x.i = v;
    x.size = size;
    x.is_signed = is_signed;
    return x;
  }
  static Value unsigned_integer(uint64_t v, uint8_t size = 8) {
    return integer(static_cast<int64_t>(v), size, false);
  }
  static Value string(std::string v) {
    Value x;
    x.kind = Kind::string;
    x.s = std::move(v);
    return x;
  }
  static Value floating_bits(uint64_t bits, uint8_t size) {
    Value x = unsigned_integer(bits, size);
    x.kind = Kind::floating;
    return x;
  }
  // A floating value as a double (a float widened).
  double as_double() const {
    if (size == 4) {
      uint32_t b = static_cast<uint32_t>(i);
      float f;
      __builtin_memcpy(&f, &b, 4);
      return f;
    }
    double d;
    __builtin_memcpy(&d, &i, 8);
    return d;
  }
  uint64_t u() const { return static_cast<uint64_t>(i); }
  bool operator==(const Value& o) const {
    return kind == o.kind && (kind == Kind::string || kind == Kind::stack ? s == o.s : i == o.i);
  }
};

// An aggregation or associative-array key: a tuple of values.
using Key = std::vector<Value>;

}  // namespace probekit::d
