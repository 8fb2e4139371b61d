// output/event.h — one probe hit as the output formats see it, and the two
// formats: ftrace's trace text and JSON lines.
//
// The one idea: an Event is plain, already-rendered data (every argument
// carries its ftrace text and its JSON literal), so formatting is pure string
// work, testable byte for byte, and independent of which front end made it.
//
// Text, after the kernel's trace_output.c (print_trace_fmt with irq-info off,
// the pre-5.14 widths) and the probe events' print functions:
//
//   trace_print_context:  "%16s-%-5d [%03d] %5lu.%06lu: "   comm, tid, cpu, seconds
//   print_kprobe_event:   "%s: (%s)"   event name (without group), site "sym+0x10"
//   print_kretprobe_event:"%s: (%s <- %s)"   caller "main+0x1e", function "malloc"
//   trace_probe_print_args: " %s=%s" per argument
//
// e.g. "           <...>-24842 [006] 258544.995456: zfree_entry: (0x446420) arg1=0x446420".
// A comm the tracer does not know prints as "<...>" (trace_find_cmdline).
// Seconds come from the hit's CLOCK_MONOTONIC timestamp, the same base
// ftrace's default clock uses, so lines from both line up.
//
// JSON lines, in bpftrace's {"type":..., "data":...} envelope:
//   {"type":"event","data":{"event":"GRP/EVENT","comm":"x","pid":1,"tid":1,"cpu":0,
//    "timestamp":NS,"site":"malloc+0x0","args":{"size":123}}}
//   return probes: "site" is the function and "caller" follows it.
//   {"type":"count","data":{"event":"GRP/EVENT","hits":N,"missed":M}}
//   {"type":"error","data":{"msg":"..."}}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "output/chrome.h"
#include "probekit/hit_context.h"

namespace probekit::output {

struct EventArg {
  std::string name;
  std::string text;  // as ftrace prints it: "0x10", "\"abc\"", "(fault)"
  std::string json;  // a JSON literal: 16, "abc", null
};

struct Event {
  std::string group;      // "probekit"
  std::string name;       // "p_malloc_0"
  std::string comm;
  int pid = 0;
  int tid = 0;
  int cpu = 0;
  uint64_t timestamp_ns = 0;
  std::string site;       // "malloc+0x4", or "0x401000" without a symbol
  bool is_return = false;
  std::string function;   // return probes: the returning function, "malloc"
  std::string caller;     // return probes: where it returns to, "main+0x1e"
  std::vector<EventArg> args;
};

// Fills everything but the arguments from the hit. For return probes pass
// the return address (the engine knows it); the caller is symbolized here.
Event make_event(const HitContext& ctx, std::string group, std::string name, bool is_return = false,
                 std::optional<uint64_t> return_address = std::nullopt);

// "sym+0x10" from a SiteInfo, or its address in hex without a symbol.
std::string site_text(const SiteInfo& site);

// One line each, with the trailing '\n'.
std::string format_text(const Event& e);
std::string format_json(const Event& e);

struct EventCount {
  std::string event;  // "GRP/EVENT"
  uint64_t hits = 0;
  uint64_t missed = 0;
};

// The -C table, after kprobe_profile ("  %-44s %15lu %15lu") with a header;
// the name column widens for longer names.
std::string format_counts_text(const std::vector<EventCount>& counts);
// One {"type":"count",...} line per event.
std::string format_counts_json(const std::vector<EventCount>& counts);
std::string format_error_json(std::string_view message);

enum class Format { text, json, chrome };
// "text", "json" or "chrome"; nullopt otherwise.
std::optional<Format> parse_format(std::string_view name);

// The per-format choice in one place, so a front end holds one object.
// chrome (output/chrome.h): each event is an instant event with its
// arguments as args; header() and footer() open and close the file.
class Formatter {
public:
  explicit Formatter(Format format) : format_(format) {}
  Format format() const { return format_; }
  std::string header() { return format_ == Format::chrome ? chrome_.begin() : ""; }
  std::string footer() { return format_ == Format::chrome ? chrome_.end() : ""; }
  std::string event(const Event& e);
  std::string counts(const std::vector<EventCount>& c) const {
    return format_ == Format::json ? format_counts_json(c) : format_counts_text(c);
  }

private:
  Format format_;
  ChromeTrace chrome_;
};

}  // namespace probekit::output
