#include "engine/record_context.h"

#include <x86intrin.h>

#include <cstring>
#include <ctime>

#include "engine/address_space.h"
#include "util/strings.h"

namespace probekit::engine {

namespace {

Error not_captured(uint64_t addr) {
  return Error("cannot read memory at " + hex(addr) + ": the agent did not capture it at the hit",
               ErrorKind::bad_address);
}

}  // namespace

std::pair<uint64_t, uint64_t> TscClock::sample() {
  timespec ts{};
  const uint64_t before = __rdtsc();
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t after = __rdtsc();
  return {before + (after - before) / 2,
          static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec)};
}

TscClock::TscClock() {
  std::tie(tsc0_, ns0_) = sample();
  tsc1_ = tsc0_;
  ns1_ = ns0_;
}

void TscClock::mark() {
  auto [t, n] = sample();
  if (t > tsc0_ && n > ns0_) {
    tsc1_ = t;
    ns1_ = n;
  }
}

TscClock::Line TscClock::line() {
  mark();
  if (ns1_ - ns0_ < 10000000) {
    timespec pause{0, static_cast<long>(10000000 - (ns1_ - ns0_))};
    ::nanosleep(&pause, nullptr);
    mark();
  }
  Line l;
  l.tsc_base = tsc1_;
  l.ns_base = ns1_;
  const long double rate = static_cast<long double>(ns1_ - ns0_) / static_cast<long double>(tsc1_ - tsc0_);
  l.mult = static_cast<uint64_t>(rate * 4294967296.0L);
  return l;
}

uint64_t TscClock::to_ns(uint64_t tsc) const {
  if (tsc1_ <= tsc0_ + 1000) return ns1_;  // not calibrated yet: the latest mark
  const long double rate = static_cast<long double>(ns1_ - ns0_) / static_cast<long double>(tsc1_ - tsc0_);
  const long double d = (static_cast<long double>(tsc) - static_cast<long double>(tsc0_)) * rate;
  const long double ns = static_cast<long double>(ns0_) + d;
  return ns <= 0 ? 0 : static_cast<uint64_t>(ns);
}

user_regs_struct RecordHitContext::regs_of(const pk_record& rec) {
  uint64_t words[sizeof(user_regs_struct) / 8] = {};
  words[15] = ~uint64_t{0};  // orig_rax: no system call
  words[17] = 0x33;          // cs
  words[20] = 0x2b;          // ss
  const auto* kept = reinterpret_cast<const uint64_t*>(&rec + 1);
  for (int i = 0; i < PK_RECORD_REGS; ++i) {
    if (rec.regs_mask & (1u << i)) words[kRecordWord[i]] = *kept++;
  }
  user_regs_struct r{};
  static_assert(sizeof words == sizeof r);
  std::memcpy(&r, words, sizeof r);
  return r;
}

RecordHitContext::RecordHitContext(const pk_record& rec, const SiteInfo& site, const AddressSpace& as,
                                   const std::string& comm, int ppid, uint64_t timestamp_ns)
    : rec_(rec), site_(site), as_(as), comm_(comm), ppid_(ppid), ts_(timestamp_ns), regs_(regs_of(rec)) {
  const auto* at = reinterpret_cast<const uint8_t*>(&rec + 1) + 8u * static_cast<unsigned>(__builtin_popcount(rec.regs_mask));
  const auto* end = reinterpret_cast<const uint8_t*>(&rec) + rec.size;
  for (uint32_t i = 0; i < rec.nitems && at + sizeof(pk_item) <= end; ++i) {
    const auto* item = reinterpret_cast<const pk_item*>(at);
    const uint8_t* bytes = at + sizeof(pk_item);
    const size_t padded = (item->length + 7u) & ~size_t{7};
    if (bytes + padded > end) break;
    items_.push_back({item, bytes});
    at = bytes + padded;
  }
}

Result<user_regs_struct*> RecordHitContext::mutable_regs() {
  return Error("a recorded hit cannot change registers: the thread went on long ago", ErrorKind::permission);
}

Result<user_fpregs_struct> RecordHitContext::fpregs() const {
  return Error("a recorded hit keeps no SSE registers", ErrorKind::unsupported);
}

Result<size_t> RecordHitContext::read(uint64_t addr, void* buf, size_t len) const {
  for (const Item& it : items_) {
    if (it.head->address != addr || (it.head->flags & PK_ITEM_STRING)) continue;
    if (it.head->flags & PK_ITEM_FAULT) return Error("cannot read memory at " + hex(addr), ErrorKind::bad_address);
    if (len > it.head->length) continue;
    std::memcpy(buf, it.bytes, len);
    return len;
  }
  return not_captured(addr);
}

Result<std::string> RecordHitContext::read_string(uint64_t addr, size_t max) const {
  for (const Item& it : items_) {
    if (it.head->address != addr || !(it.head->flags & PK_ITEM_STRING)) continue;
    if (it.head->flags & PK_ITEM_FAULT) return Error("cannot read string at " + hex(addr), ErrorKind::bad_address);
    const char* s = reinterpret_cast<const char*>(it.bytes);
    size_t n = ::strnlen(s, it.head->length);
    return std::string(s, std::min(n, max));
  }
  return not_captured(addr);
}

Status RecordHitContext::write(uint64_t, const void*, size_t) {
  return Error("a recorded hit cannot write memory", ErrorKind::permission);
}

std::string RecordHitContext::symbolize(uint64_t addr, bool qualify_module) const {
  return as_.symbolize(addr, qualify_module);
}

Result<uint64_t> RecordHitContext::lookup_symbol(const std::string& name) const { return as_.lookup_symbol(name); }

Probe::AgentOutput agent_output_of(const pk_record& rec, std::string comm, uint64_t timestamp_ns) {
  Probe::AgentOutput o;
  o.pid = static_cast<int>(rec.pid);
  o.tid = static_cast<int>(rec.tid);
  o.cpu = static_cast<int>(rec.cpu);
  o.comm = std::move(comm);
  o.timestamp_ns = timestamp_ns;
  o.items = reinterpret_cast<const uint8_t*>(&rec + 1);
  o.bytes = rec.size - sizeof rec;
  o.nitems = rec.nitems;
  return o;
}

}  // namespace probekit::engine
