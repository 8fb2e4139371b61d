// C++ fixture for elf_test: namespaces, overloads, methods, templates,
// operators and an anonymous namespace, all kept out of line.
#include <cstdio>

#define NOINLINE __attribute__((noinline))

namespace ns {
NOINLINE int overloaded(int x) { return x + 1; }
NOINLINE double overloaded(double x) { return x * 2; }

class Widget {
 public:
  explicit Widget(int w) : w_(w) {}
  NOINLINE int area() const { return w_ * w_; }
  NOINLINE int operator()(int k) const { return w_ + k; }
  NOINLINE static Widget make(int w) { return Widget(w); }

 private:
  int w_;
};
}  // namespace ns

template <typename T>
NOINLINE T twice(T v) {
  return v + v;
}

namespace {
NOINLINE int hidden_helper(int x) { return x ^ 5; }
}  // namespace

int main(int argc, char**) {
  ns::Widget w = ns::Widget::make(argc);
  std::printf("%d %f %d %d %d %f %d\n", ns::overloaded(argc), ns::overloaded(1.5), w.area(), w(3),
              twice(argc), twice(2.5), hidden_helper(argc));
  return 0;
}
