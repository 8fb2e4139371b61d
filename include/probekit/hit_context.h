// probekit/hit_context.h — what a handler sees when a probe fires.
//
// The engine builds one HitContext per hit, in the tracer, while the hitting
// thread is stopped. Handlers read registers and memory through it; a bad
// address is an Error, never a crash. Writes (registers, memory) are allowed
// only for probes registered with `destructive = true`; the engine writes
// modified registers back before the thread resumes.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <optional>
#include <string>

#include "probekit/result.h"

namespace probekit {

// Where a probe sits, as resolved: enough for output lines such as
// "(malloc+0x4)" and for D's probemod/probefunc/probename.
struct SiteInfo {
  uint64_t address = 0;     // absolute address in the target
  std::string module;       // file name as listed ("a.out" for the executable? no: real
                            // file name; the front end maps the main executable to a.out)
  std::string module_path;  // full path of the mapped object
  bool is_main_executable = false;
  std::string symbol;       // demangled where it was mangled; empty for a bare address
  std::string raw_symbol;   // the name as in the symbol table (mangled)
  uint64_t offset = 0;      // address - symbol start
  uint64_t symbol_address = 0;
};

class HitContext {
public:
  virtual ~HitContext() = default;

  virtual int pid() const = 0;   // thread group id of the hitting thread
  virtual int tid() const = 0;
  virtual int ppid() const = 0;
  virtual const std::string& comm() const = 0;  // /proc/TID/comm, cached per thread
  virtual int cpu() const = 0;                  // CPU the thread last ran on
  virtual uint64_t timestamp_ns() const = 0;    // CLOCK_MONOTONIC when the hit was seen
  virtual const SiteInfo& site() const = 0;

  // General registers at the probed instruction (rip == site().address).
  virtual const user_regs_struct& regs() const = 0;
  // Writable registers; fails unless the probe is destructive.
  virtual Result<user_regs_struct*> mutable_regs() = 0;
  // SSE/x87 state (xmm0..15 in fpregs().xmm_space), read lazily.
  virtual Result<user_fpregs_struct> fpregs() const = 0;

  // Memory of the target. read() returns the number of bytes read; fewer than
  // asked (or a bad_address Error) when the range is not mapped.
  virtual Result<size_t> read(uint64_t addr, void* buf, size_t len) const = 0;
  // A NUL-terminated string of at most max bytes.
  virtual Result<std::string> read_string(uint64_t addr, size_t max = 256) const = 0;
  // Fails unless the probe is destructive.
  virtual Status write(uint64_t addr, const void* buf, size_t len) = 0;

  // "func+0x10" (demangled), "libc.so.6:func+0x10" when qualify_module, or
  // the hex address when nothing covers it.
  virtual std::string symbolize(uint64_t addr, bool qualify_module = false) const = 0;
  // Resolves a symbol in the target (any module, or "module:symbol") to an
  // absolute address, for fetch-args like @SYMBOL.
  virtual Result<uint64_t> lookup_symbol(const std::string& name) const = 0;

  // --- Return probes (Probe::return_handler) and error injection ---------
  // A return hit runs the return handler with site() describing the
  // *function* (symbol, symbol_address, address == the function's start,
  // offset 0) and regs() as follows:
  //   ret-site: at the returning `ret` before it runs: rax = return
  //     value, [rsp] = return address, rip = the ret. Through a tail call:
  //     after the called function returned, as under hijack (rip =
  //     return_address(), rax = the value the caller receives).
  //   hijack: after the function returned: rip = return_address(), rsp as
  //     the caller sees it, rax = return value.
  // Other hits (entry, offsets) answer false / nullopt.
  virtual bool is_return() const { return false; }
  // Where the function returns to (the caller's next instruction). For a
  // tail call it is the return address of the frame being reused.
  virtual std::optional<uint64_t> return_address() const { return std::nullopt; }
  // ret-site only: the absolute address of the returning instruction (a
  // `ret`, or the `jmp` of a tail call) ...
  virtual std::optional<uint64_t> return_site() const { return std::nullopt; }
  // ... and its offset from the function's start: DTrace's arg0 for
  // pid:::return. Negative for a `FUNC.cold` part placed before the function.
  // nullopt under hijack (the returning instruction is not known).
  virtual std::optional<int64_t> return_offset() const { return std::nullopt; }
  // True at a ret-site return through a tail call (return_site() is the
  // `jmp`); it fires when the called function has returned.
  virtual bool is_tail_call() const { return false; }

  // Error injection (destructive probes only). At a function's entry (offset
  // 0, or just after its endbr64): the caller sees `value` as the return
  // value and the function body does not run (rax = value, then `ret` is
  // emulated; the probed instruction is not executed). At a return hit: the
  // return value (rax) is replaced. Refused anywhere else and without
  // `destructive`. The engine cannot know a function's return
  // type: for a function that returns a struct in memory or a floating-point
  // value (xmm0), the caller of override_return must not use it (front ends
  // check DWARF or document the rule).
  virtual Status override_return(uint64_t value) {
    (void)value;
    return Error("override is not supported by this hit context", ErrorKind::unsupported);
  }

  // Convenience: read a T at addr.
  template <typename T>
  Result<T> read_value(uint64_t addr) const {
    T v{};
    auto n = read(addr, &v, sizeof v);
    if (!n) return n.error();
    if (*n != sizeof v) return Error("cannot read " + std::to_string(sizeof v) + " bytes at address",
                                     ErrorKind::bad_address);
    return v;
  }
};

}  // namespace probekit
