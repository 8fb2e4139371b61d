#include "output/event.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "util/strings.h"

namespace probekit::output {

std::string site_text(const SiteInfo& site) {
  if (site.symbol.empty()) return hex(site.address);
  return site.symbol + "+" + hex(site.offset);
}

Event make_event(const HitContext& ctx, std::string group, std::string name, bool is_return,
                 std::optional<uint64_t> return_address) {
  Event e;
  e.group = std::move(group);
  e.name = std::move(name);
  e.comm = ctx.comm();
  e.pid = ctx.pid();
  e.tid = ctx.tid();
  e.cpu = ctx.cpu();
  e.timestamp_ns = ctx.timestamp_ns();
  const SiteInfo& site = ctx.site();
  e.site = site_text(site);
  e.is_return = is_return;
  if (is_return) {
    e.function = site.symbol.empty() ? hex(site.symbol_address ? site.symbol_address : site.address) : site.symbol;
    if (return_address) e.caller = ctx.symbolize(*return_address);
  }
  return e;
}

std::string format_text(const Event& e) {
  char head[128];
  const std::string& comm = e.comm.empty() ? std::string("<...>") : e.comm;
  std::snprintf(head, sizeof head, "%16s-%-5d [%03d] %5" PRIu64 ".%06" PRIu64 ": ", comm.c_str(), e.tid, e.cpu,
                e.timestamp_ns / 1000000000, e.timestamp_ns % 1000000000 / 1000);
  std::string out = head;
  out += e.name;
  out += ": (";
  if (e.is_return) {
    out += e.caller.empty() ? "?" : e.caller;
    out += " <- ";
    out += e.function;
  } else {
    out += e.site;
  }
  out += ')';
  for (const auto& a : e.args) {
    out += ' ';
    out += a.name;
    out += '=';
    out += a.text;
  }
  out += '\n';
  return out;
}

std::string format_json(const Event& e) {
  std::string out = "{\"type\":\"event\",\"data\":{\"event\":";
  out += json_quote(e.group + "/" + e.name);
  out += ",\"comm\":" + json_quote(e.comm);
  out += ",\"pid\":" + std::to_string(e.pid);
  out += ",\"tid\":" + std::to_string(e.tid);
  out += ",\"cpu\":" + std::to_string(e.cpu);
  out += ",\"timestamp\":" + std::to_string(e.timestamp_ns);
  if (e.is_return) {
    out += ",\"site\":" + json_quote(e.function);
    out += ",\"caller\":" + (e.caller.empty() ? std::string("null") : json_quote(e.caller));
  } else {
    out += ",\"site\":" + json_quote(e.site);
  }
  out += ",\"args\":{";
  for (size_t i = 0; i < e.args.size(); ++i) {
    if (i) out += ',';
    out += json_quote(e.args[i].name);
    out += ':';
    out += e.args[i].json.empty() ? "null" : e.args[i].json;
  }
  out += "}}}\n";
  return out;
}

std::string format_counts_text(const std::vector<EventCount>& counts) {
  size_t width = 44;
  for (const auto& c : counts) width = std::max(width, c.event.size());
  auto row = [&](std::string_view name, std::string_view hits, std::string_view missed) {
    std::string line = "  ";
    line += name;
    line.append(width - name.size(), ' ');
    line += ' ';
    line.append(15 - std::min<size_t>(15, hits.size()), ' ');
    line += hits;
    line += ' ';
    line.append(15 - std::min<size_t>(15, missed.size()), ' ');
    line += missed;
    line += '\n';
    return line;
  };
  std::string out = row("EVENT", "HITS", "MISSED");
  for (const auto& c : counts) out += row(c.event, std::to_string(c.hits), std::to_string(c.missed));
  return out;
}

std::string format_counts_json(const std::vector<EventCount>& counts) {
  std::string out;
  for (const auto& c : counts) {
    out += "{\"type\":\"count\",\"data\":{\"event\":" + json_quote(c.event) + ",\"hits\":" + std::to_string(c.hits) +
           ",\"missed\":" + std::to_string(c.missed) + "}}\n";
  }
  return out;
}

std::string format_error_json(std::string_view message) {
  return "{\"type\":\"error\",\"data\":{\"msg\":" + json_quote(message) + "}}\n";
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::text;
  if (name == "json") return Format::json;
  if (name == "chrome") return Format::chrome;
  return std::nullopt;
}

std::string Formatter::event(const Event& e) {
  switch (format_) {
    case Format::text: return format_text(e);
    case Format::json: return format_json(e);
    case Format::chrome: break;
  }
  std::vector<std::pair<std::string, std::string>> args;
  if (e.is_return) {
    args.emplace_back("function", json_quote(e.function));
    args.emplace_back("caller", json_quote(e.caller));
  } else {
    args.emplace_back("site", json_quote(e.site));
  }
  for (const auto& a : e.args) args.emplace_back(a.name, a.json);
  return chrome_.instant(e.pid, e.tid, e.comm, e.name, e.group, e.timestamp_ns, args);
}

}  // namespace probekit::output
