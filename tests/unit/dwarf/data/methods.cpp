// C++ fixture for dwarf_test: namespaces, overloads, a method (with this), a
// non-trivially-copyable class passed by value (so by invisible reference),
// and a reference parameter.
#include <string>

#define USED __attribute__((noinline, used))

namespace geo {
struct Point { int x, y; };

class Counter {
 public:
  USED int add(int k, double scale);
  int n = 0;
};

USED int Counter::add(int k, double scale) { n += k; return n * static_cast<int>(scale); }

USED int area(const Point &p) { return p.x * p.y; }
USED double area(double r) { return 3.0 * r * r; }
USED size_t length(std::string s, int extra) { return s.size() + extra; }

struct Owned { int fd; ~Owned() { fd = -1; } };  // non-trivial destructor: passed by invisible reference
struct Plain { int a; long b; ~Plain() = default; };  // trivial: in two registers
USED int use_owned(Owned o, Plain p) { return o.fd + p.a + static_cast<int>(p.b); }
USED Owned make_owned(int fd) { return Owned{fd}; }
}  // namespace geo

int main() {
  geo::Counter c;
  return c.add(1, 2.0) + geo::area(geo::Point{1, 2}) + static_cast<int>(geo::area(1.0)) +
         static_cast<int>(geo::length("ab", 1)) + geo::use_owned(geo::Owned{3}, geo::Plain{1, 2}) +
         geo::make_owned(4).fd;
}
