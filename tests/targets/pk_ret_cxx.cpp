// C++ exceptions thrown through probed functions (return probes must not
// break unwinding or catch).
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

__attribute__((noipa)) int thrower(int n) {
  if (n % 3 == 0) throw std::runtime_error("bad " + std::to_string(n));
  return n * 2;
}

__attribute__((noipa)) int middle(int n) {
  int r = thrower(n);
  __asm__ volatile("" ::: "memory");
  return r + 1;
}

__attribute__((noipa)) int relay(int n) {
  try {
    return middle(n);
  } catch (const std::runtime_error&) {
    throw;  // __cxa_rethrow through a probed frame
  }
}

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 10;
  long sum = 0;
  int caught = 0;
  std::string last;
  for (int n = 0; n < count; n++) {
    try {
      sum += relay(n);
    } catch (const std::exception& e) {
      caught++;
      last = e.what();
    }
  }
  std::printf("sum %ld caught %d last %s\n", sum, caught, last.c_str());
  return 0;
}
