#include "engine/sampler.h"

#include <algorithm>
#include <vector>

namespace probekit::engine {

void Ticker::add_sampler(ProbeId id, uint64_t period_ns, PreHandler handler, uint64_t now) {
  Entry e;
  e.period_ns = period_ns;
  e.next_due = now + period_ns;
  e.handler = std::move(handler);
  entries_[id] = std::move(e);
}

void Ticker::add_timer(ProbeId id, uint64_t period_ns, std::function<void()> callback, uint64_t now) {
  Entry e;
  e.period_ns = period_ns;
  e.next_due = now + period_ns;
  e.callback = std::move(callback);
  entries_[id] = std::move(e);
}

Status Ticker::set_enabled(ProbeId id, bool enabled, uint64_t now) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return Error("no probe " + std::to_string(id), ErrorKind::usage);
  if (enabled && !it->second.enabled) it->second.next_due = now + it->second.period_ns;
  it->second.enabled = enabled;
  return {};
}

ProbeStats Ticker::stats(ProbeId id) const {
  ProbeStats st;
  auto it = entries_.find(id);
  if (it == entries_.end()) return st;
  st.hits = it->second.hits;
  return st;
}

void Ticker::clear() {
  entries_.clear();
  pending_.clear();
}

uint64_t Ticker::min_period_ns() const {
  uint64_t best = 0;
  for (const auto& [id, e] : entries_) {
    if (e.enabled && (best == 0 || e.period_ns < best)) best = e.period_ns;
  }
  return best;
}

bool Ticker::poll(uint64_t now) {
  bool sample_due = false;
  std::vector<ProbeId> ids;
  for (const auto& [id, e] : entries_) ids.push_back(id);
  for (ProbeId id : ids) {  // a callback may add or remove entries
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.enabled || now < it->second.next_due) continue;
    Entry& e = it->second;
    // A late loop (a long handler) skips the missed periods instead of
    // firing a burst to catch up.
    uint64_t missed = (now - e.next_due) / e.period_ns;
    e.next_due += (missed + 1) * e.period_ns;
    if (e.handler) {
      sample_due = true;
      continue;
    }
    e.hits++;
    if (e.callback) {
      auto cb = e.callback;
      cb();
    }
  }
  return sample_due;
}

void Ticker::sample(HitContext& ctx) {
  ++samples_;
  std::vector<ProbeId> ids;
  for (const auto& [id, e] : entries_) {
    if (e.enabled && e.handler) ids.push_back(id);
  }
  for (ProbeId id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    it->second.hits++;
    PreHandler h = it->second.handler;
    h(ctx);
  }
}

}  // namespace probekit::engine
