// d/format.h — DTrace's printf engine: printf(), printa() with a format, and
// the compile-time check of a format against its arguments.
//
// NOTE for the src/d CMake owner: format.cpp belongs to pk_d (see
// aggregation.h).
//
// The one idea: a format string is parsed once into conversions (flags,
// width, precision, length, conversion character, whether it is an
// aggregation `%@` conversion), and the same parse serves three users: the
// compiler (check_format: is each argument's kind acceptable to its
// conversion, with the conversion's position for the caret), printf at each
// hit (format), and printa (keys feed the ordinary conversions in order,
// each `%@` conversion takes the next aggregation's value).
//
// Conversions: %d %i %u %o %x %X %c %s %p %a %A %S %e %E %f %g %G %%, flags
// "-+ #0", width and precision (digits or `*`), length modifiers hh h l ll z
// j t (the value is cast to that width before printing, as C's printf would
// read it). %p prints hex digits without "0x" (DTrace maps it to %x);
// %a/%A print a symbol's text ("a.out`work+0x10") or, for a plain integer,
// its address in hex; %S prints a string with C escapes for non-printable
// bytes; floating conversions print the integer converted to double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "d/aggregation.h"
#include "d/ast.h"
#include "d/value.h"
#include "util/result.h"

namespace probekit::d {

// A compile-time finding about a format string, DTrace-style ids:
//   D_PRINTF_ARG_FMT    malformed conversion ("%q", "%" at the end)
//   D_PRINTF_ARG_PROTO  a conversion without an argument
//   D_PRINTF_ARG_TYPE   argument kind not accepted by the conversion
//   D_PRINTF_ARG_EXTRA  more arguments than conversions
//   D_PRINTF_DYN_PROTO  `*` width/precision without an argument
//   D_PRINTF_DYN_TYPE   `*` argument that is not an integer
//   D_PRINTF_AGG_CONV   `%@` in printf, or in printa without an aggregation
struct FormatIssue {
  std::string id;
  size_t offset = 0;  // byte offset of the conversion's '%' in the format
  size_t length = 1;  // length of the conversion text
  int arg = -1;       // 0-based argument index concerned, -1 if none
  std::string message;
};

// The compiler's view of an argument.
struct ArgType {
  Value::Kind kind = Value::Kind::integer;
  uint8_t size = 8;
  bool is_signed = true;
};

// printf(fmt, args...): every issue found (empty when the call is good).
std::vector<FormatIssue> check_format(std::string_view fmt, std::span<const ArgType> args);
// printa(fmt, @a, ...): `keys` are the aggregations' key types (shared by
// all of them), `naggs` how many aggregations follow the format. Key
// conversions consume keys in order; each `%@` consumes one aggregation.
std::vector<FormatIssue> check_printa_format(std::string_view fmt, std::span<const ArgType> keys,
                                             size_t naggs);

// printf at run time. Errors only for what check_format would have caught
// (a program that was checked never sees one).
Result<std::string> format(std::string_view fmt, std::span<const Value> args);

// printa(fmt, @a, @b, ...): the format once per key, in the first
// aggregation's sorted order (keys missing from a later aggregation give a
// zero value). A `%@` conversion prints the value with that conversion (avg
// and stddev as DTrace computes them, normalized); for the quantize family
// it prints the distribution block. A format without `%@` prints the keys
// only.
Result<std::string> printa(std::string_view fmt, std::span<const Aggregation* const> aggs);

// print(p) as dtrace-utils prints it: "ADDR = *", then the object `data`
// (the bytes at ADDR) one line per member, `[.NAME = ](TYPE)VALUE,`,
// indented 44 columns plus the depth; members whose bytes are all zero are
// left out, char arrays stop at their NUL, floating members are not shown,
// and past `limit` bytes (the printsize option) a "..." ends the listing.
std::string render_print(const std::vector<PrintMember>& layout, std::string_view data, size_t limit,
                         uint64_t addr);

// The C escapes %S uses: \a \b \f \n \r \t \v \\ \" and \ooo for the rest.
std::string escape_string(std::string_view s);

}  // namespace probekit::d
