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
}  // namespace geo

int main() {
  geo::Counter c;
  return c.add(1, 2.0) + geo::area(geo::Point{1, 2}) + static_cast<int>(geo::area(1.0)) +
         static_cast<int>(geo::length("ab", 1));
}
