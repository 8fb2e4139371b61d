// output/chrome.cpp — see chrome.h.
#include "output/chrome.h"

#include <algorithm>

#include "util/strings.h"

namespace probekit::output {

namespace {

// Nanoseconds as microseconds with three decimals: "12.345".
std::string micros(uint64_t ns) {
  std::string frac = std::to_string(ns % 1000);
  return std::to_string(ns / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
}

}  // namespace

std::string ChromeTrace::begin() { return "{\"traceEvents\":[\n"; }

std::string ChromeTrace::event(std::string body) {
  std::string out = first_ ? "" : ",\n";
  first_ = false;
  return out + body;
}

std::string ChromeTrace::thread(int pid, int tid, std::string_view comm) {
  if (!named_.insert(tid).second) return "";
  return event("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":" + std::to_string(pid) + ",\"tid\":" +
               std::to_string(tid) + ",\"args\":{\"name\":" + json_quote(comm) + "}}");
}

std::string ChromeTrace::complete(int pid, int tid, const Open& call, uint64_t end_ns, bool unfinished) {
  uint64_t dur = end_ns > call.ts_ns ? end_ns - call.ts_ns : 0;
  std::string body = "{\"name\":" + json_quote(call.name) + ",\"cat\":" + json_quote(call.category) +
                     ",\"ph\":\"X\",\"ts\":" + micros(call.ts_ns) + ",\"dur\":" + micros(dur) +
                     ",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(tid);
  if (unfinished) body += ",\"args\":{\"unfinished\":true}";
  return event(body + "}");
}

std::string ChromeTrace::enter(int pid, int tid, std::string_view comm, std::string name, std::string category,
                               uint64_t ts_ns) {
  last_ns_ = std::max(last_ns_, ts_ns);
  open_[{pid, tid}].push_back({std::move(name), std::move(category), ts_ns});
  return thread(pid, tid, comm);
}

std::string ChromeTrace::leave(int pid, int tid, std::string_view comm, std::string_view name, uint64_t ts_ns) {
  last_ns_ = std::max(last_ns_, ts_ns);
  auto it = open_.find({pid, tid});
  if (it == open_.end()) return "";
  auto& calls = it->second;
  auto match = std::find_if(calls.rbegin(), calls.rend(), [&](const Open& o) { return o.name == name; });
  if (match == calls.rend()) return "";
  std::string out = thread(pid, tid, comm);
  const size_t keep = static_cast<size_t>(calls.rend() - match) - 1;  // index of the match
  for (size_t i = calls.size(); i-- > keep;) out += complete(pid, tid, calls[i], ts_ns, i != keep);
  calls.resize(keep);
  return out;
}

std::string ChromeTrace::instant(int pid, int tid, std::string_view comm, std::string_view name,
                                 std::string_view category, uint64_t ts_ns,
                                 const std::vector<std::pair<std::string, std::string>>& args) {
  last_ns_ = std::max(last_ns_, ts_ns);
  std::string out = thread(pid, tid, comm);
  std::string body = "{\"name\":" + json_quote(name) + ",\"cat\":" + json_quote(category) +
                     ",\"ph\":\"i\",\"s\":\"t\",\"ts\":" + micros(ts_ns) + ",\"pid\":" + std::to_string(pid) +
                     ",\"tid\":" + std::to_string(tid);
  if (!args.empty()) {
    std::vector<std::string> fields;
    for (const auto& [k, v] : args) fields.push_back(json_quote(k) + ":" + v);
    body += ",\"args\":{" + join(fields, ",") + "}";
  }
  return out + event(body + "}");
}

std::string ChromeTrace::end() {
  std::string out;
  for (auto& [who, calls] : open_) {
    for (size_t i = calls.size(); i-- > 0;) out += complete(who.first, who.second, calls[i], last_ns_, true);
    calls.clear();
  }
  return out + "\n],\"displayTimeUnit\":\"ns\"}\n";
}

}  // namespace probekit::output
