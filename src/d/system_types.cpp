#include "d/system_types.h"

#include <functional>
#include <map>
#include <vector>

namespace probekit::d {

namespace {

using Kind = TargetMember::Kind;

// Members are laid out by hand from the Linux x86-64 ABI (<linux/in.h>,
// <linux/in6.h>, <linux/ip.h>, <linux/ipv6.h>, <linux/tcp.h>,
// <linux/udp.h>, <linux/socket.h>, <asm-generic/siginfo.h>): offsets as
// the C compiler places them, nested members flattened as "a.b" after
// their holder, as the CLI translates DWARF.
struct Builder {
  TargetAggregate a;
  Builder(uint64_t size, bool is_union = false) {
    a.size = size;
    a.is_union = is_union;
  }
  Builder& integer(const std::string& name, const std::string& type, uint64_t offset, uint32_t size,
                   bool is_signed = false) {
    TargetMember m;
    m.name = name;
    m.type_name = type;
    m.kind = Kind::integer;
    m.offset = offset;
    m.size = size;
    m.is_signed = is_signed;
    a.members.push_back(std::move(m));
    return *this;
  }
  // A bit-field: `bit` counts from the least significant bit of the byte at
  // `offset` (little-endian), in storage of `size` bytes.
  Builder& bits(const std::string& name, const std::string& type, uint64_t offset, uint32_t size, uint8_t bit,
                uint8_t width) {
    integer(name, type, offset, size);
    a.members.back().bit_offset = bit;
    a.members.back().bit_size = width;
    return *this;
  }
  Builder& array(const std::string& name, const std::string& element, uint64_t offset, uint32_t size,
                 uint64_t count, bool is_signed = false) {
    integer(name, element + " [" + std::to_string(count) + "]", offset, size, is_signed);
    a.members.back().count = count;
    return *this;
  }
  Builder& pointer(const std::string& name, const std::string& type, uint64_t offset) {
    TargetMember m;
    m.name = name;
    m.type_name = type;
    m.kind = Kind::pointer;
    m.offset = offset;
    m.size = 8;
    a.members.push_back(std::move(m));
    return *this;
  }
  // A nested struct or union: the holder, then `inner`'s members under
  // "name.".
  Builder& nested(const std::string& name, const std::string& type, uint64_t offset, const TargetAggregate& inner) {
    TargetMember m;
    m.name = name;
    m.type_name = type;
    m.kind = Kind::aggregate;
    m.offset = offset;
    m.size = static_cast<uint32_t>(inner.size);
    a.members.push_back(m);
    for (TargetMember im : inner.members) {
      im.name = name + "." + im.name;
      im.offset += offset;
      a.members.push_back(std::move(im));
    }
    return *this;
  }
};

TargetAggregate in_addr() { return Builder(4).integer("s_addr", "__be32", 0, 4).a; }

TargetAggregate in6_addr() {
  TargetAggregate u = Builder(16, true)
                          .array("u6_addr8", "__u8", 0, 1, 16)
                          .array("u6_addr16", "__be16", 0, 2, 8)
                          .array("u6_addr32", "__be32", 0, 4, 4)
                          .a;
  return Builder(16).nested("in6_u", "union <anonymous>", 0, u).a;
}

const std::map<std::string, std::function<TargetAggregate()>>& table() {
  static const std::map<std::string, std::function<TargetAggregate()>> t = {
      {"struct in_addr", in_addr},
      {"struct in6_addr", in6_addr},
      {"struct sockaddr",
       [] { return Builder(16).integer("sa_family", "sa_family_t", 0, 2).array("sa_data", "char", 2, 1, 14, true).a; }},
      {"struct sockaddr_in",
       [] {
         return Builder(16)
             .integer("sin_family", "__kernel_sa_family_t", 0, 2)
             .integer("sin_port", "__be16", 2, 2)
             .nested("sin_addr", "struct in_addr", 4, in_addr())
             .array("__pad", "unsigned char", 8, 1, 8)
             .a;
       }},
      {"struct sockaddr_in6",
       [] {
         return Builder(28)
             .integer("sin6_family", "unsigned short", 0, 2)
             .integer("sin6_port", "__be16", 2, 2)
             .integer("sin6_flowinfo", "__be32", 4, 4)
             .nested("sin6_addr", "struct in6_addr", 8, in6_addr())
             .integer("sin6_scope_id", "__u32", 24, 4)
             .a;
       }},
      {"struct iphdr",
       [] {
         return Builder(20)
             .bits("ihl", "__u8", 0, 1, 0, 4)
             .bits("version", "__u8", 0, 1, 4, 4)
             .integer("tos", "__u8", 1, 1)
             .integer("tot_len", "__be16", 2, 2)
             .integer("id", "__be16", 4, 2)
             .integer("frag_off", "__be16", 6, 2)
             .integer("ttl", "__u8", 8, 1)
             .integer("protocol", "__u8", 9, 1)
             .integer("check", "__sum16", 10, 2)
             .integer("saddr", "__be32", 12, 4)
             .integer("daddr", "__be32", 16, 4)
             .a;
       }},
      {"struct ipv6hdr",
       [] {
         return Builder(40)
             .bits("priority", "__u8", 0, 1, 0, 4)
             .bits("version", "__u8", 0, 1, 4, 4)
             .array("flow_lbl", "__u8", 1, 1, 3)
             .integer("payload_len", "__be16", 4, 2)
             .integer("nexthdr", "__u8", 6, 1)
             .integer("hop_limit", "__u8", 7, 1)
             .nested("saddr", "struct in6_addr", 8, in6_addr())
             .nested("daddr", "struct in6_addr", 24, in6_addr())
             .a;
       }},
      {"struct tcphdr",
       [] {
         return Builder(20)
             .integer("source", "__be16", 0, 2)
             .integer("dest", "__be16", 2, 2)
             .integer("seq", "__be32", 4, 4)
             .integer("ack_seq", "__be32", 8, 4)
             .bits("res1", "__u16", 12, 2, 0, 4)
             .bits("doff", "__u16", 12, 2, 4, 4)
             .bits("fin", "__u16", 13, 2, 0, 1)
             .bits("syn", "__u16", 13, 2, 1, 1)
             .bits("rst", "__u16", 13, 2, 2, 1)
             .bits("psh", "__u16", 13, 2, 3, 1)
             .bits("ack", "__u16", 13, 2, 4, 1)
             .bits("urg", "__u16", 13, 2, 5, 1)
             .bits("ece", "__u16", 13, 2, 6, 1)
             .bits("cwr", "__u16", 13, 2, 7, 1)
             .integer("window", "__be16", 14, 2)
             .integer("check", "__sum16", 16, 2)
             .integer("urg_ptr", "__be16", 18, 2)
             .a;
       }},
      {"struct udphdr",
       [] {
         return Builder(8)
             .integer("source", "__be16", 0, 2)
             .integer("dest", "__be16", 2, 2)
             .integer("len", "__be16", 4, 2)
             .integer("check", "__sum16", 6, 2)
             .a;
       }},
      {"union sigval",
       [] { return Builder(8, true).integer("sival_int", "int", 0, 4, true).pointer("sival_ptr", "void *", 0).a; }},
      // sched.d's cpuinfo_t, which curcpu points to (processorid_t,
      // psetid_t, chipid_t and lgrp_id_t are id_t).
      {"cpuinfo_t",
       [] {
         TargetAggregate a = Builder(kCpuInfoSize)
                                 .integer("cpu_id", "processorid_t", 0, 4, true)
                                 .integer("cpu_pset", "psetid_t", 4, 4, true)
                                 .integer("cpu_chip", "chipid_t", 8, 4, true)
                                 .integer("cpu_lgrp", "lgrp_id_t", 12, 4, true)
                                 .a;
         a.key = "struct cpuinfo";
         return a;
       }},
      {"struct cpuinfo", [] {
         TargetAggregate a = system_type("cpuinfo_t").value();
         a.key.clear();
         return a;
       }},
      // dtrace's typedef (ip.d and the inet_ntoa6() prototype).
      {"in6_addr_t",
       [] {
         TargetAggregate a = in6_addr();
         a.key = "struct in6_addr";  // the same type, not a struct of its own
         return a;
       }},
  };
  return t;
}

}  // namespace

std::optional<TargetAggregate> system_type(const std::string& key) {
  auto it = table().find(key);
  if (it == table().end()) return std::nullopt;
  return it->second();
}

}  // namespace probekit::d
