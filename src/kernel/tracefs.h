// kernel/tracefs.h — the kernel's static tracepoints as tracefs describes them.
//
// The one idea: tracefs is the catalogue, perf_event_open the transport.
// Each event's `format` file gives its id (perf's attr.config) and the
// layout of the raw record a PERF_SAMPLE_RAW sample carries, field by field
// ("field:__data_loc char[] filename; offset:8; size:4; signed:0;"), so a
// field is decoded by name without any per-event code: integers of every
// size and sign, `__data_loc`/`__rel_loc` strings (a u32 whose low half is
// the string's offset, from the record start or from the end of the field,
// and whose high half its length), fixed char arrays (`char comm[16]`).
//
// Where tracefs is: /sys/kernel/tracing, else /sys/kernel/debug/tracing.
// When neither is mounted and probekit runs as root, it mounts tracefs at
// /sys/kernel/tracing itself, as perf does (tools/lib/api/fs/tracing_path.c):
// a user who runs `probekit -n 'proc:::exec-success ...'` as root expects it
// to just work, and the mount is harmless and stays for the next tool.
// PROBEKIT_TRACEFS names another directory (tests use it to see the error).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace probekit::kernel {

struct TracepointField {
  enum class Kind : uint8_t {
    integer,      // signed or unsigned, 1, 2, 4 or 8 bytes
    data_loc,     // __data_loc char[]: a string elsewhere in the record
    rel_loc,      // __rel_loc char[]: the same, offset from the field's end
    char_array,   // char NAME[N]: a NUL-padded string
    array,        // an array of integers (unsigned long args[6]): element_size each
    other,        // anything else (structs, __data_loc of non-char)
  };
  std::string name;
  std::string c_type;  // "const char *", "__data_loc char[]", "pid_t"
  Kind kind = Kind::integer;
  uint32_t offset = 0;
  uint32_t size = 0;
  bool is_signed = false;
  uint32_t element_size = 0;  // arrays
  bool common = false;        // common_type, common_pid, ...
};

struct TracepointFormat {
  std::string subsystem, event;
  uint32_t id = 0;
  std::vector<TracepointField> fields;  // common fields first, as in the file
  const TracepointField* field(std::string_view name) const;
};

// Parses the text of an event's `format` file.
Result<TracepointFormat> parse_format(std::string_view text);

// Decoders over a raw record (PERF_SAMPLE_RAW's data).
std::optional<int64_t> read_integer(const TracepointField& f, const uint8_t* data, size_t size, uint32_t index = 0);
std::optional<std::string> read_string(const TracepointField& f, const uint8_t* data, size_t size);

class Tracefs {
public:
  // Finds (or, as root, mounts) tracefs. Errors: "tracefs is not mounted at
  // /sys/kernel/tracing ...", "needs root or CAP_PERFMON ...".
  static Result<Tracefs> open();
  const std::string& root() const { return root_; }
  // (subsystem, event) pairs matching globs ("" = any), sorted.
  Result<std::vector<std::pair<std::string, std::string>>> list(std::string_view subsystem_glob,
                                                                 std::string_view event_glob) const;
  Result<TracepointFormat> format(const std::string& subsystem, const std::string& event) const;
  bool has_event(const std::string& subsystem, const std::string& event) const;

  // Kprobes through kprobe_events: "p:GROUP/EVENT FUNCTION" (entry) or
  // "r:GROUP/EVENT FUNCTION" (return) creates a dynamic event that is then
  // a tracepoint like any other (events/GROUP/EVENT/format). The caller
  // removes what it created (remove_kprobe) once its perf events are closed.
  Status add_kprobe(const std::string& group, const std::string& event, const std::string& function,
                    bool is_return) const;
  void remove_kprobe(const std::string& group, const std::string& event) const;
  // Kernel functions a glob selects (available_filter_functions), sorted.
  Result<std::vector<std::string>> kernel_functions(std::string_view glob) const;

private:
  explicit Tracefs(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// Kprobes: the kernel's dynamic probes. Empty when this kernel has them
// (kprobe_events in tracefs or the perf `kprobe` PMU), else why not.
std::optional<std::string> kprobes_missing(const std::string& tracefs_root);

// "needs root or CAP_PERFMON" when this process cannot open system-wide
// perf events, else nothing.
std::optional<std::string> perf_rights_missing();

}  // namespace probekit::kernel
