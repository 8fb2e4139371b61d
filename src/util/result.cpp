#include "util/result.h"

#include <cstring>

namespace probekit {

const char* to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::generic: return "error";
  case ErrorKind::usage: return "usage";
  case ErrorKind::parse: return "parse";
  case ErrorKind::no_such_symbol: return "no_such_symbol";
  case ErrorKind::no_such_module: return "no_such_module";
  case ErrorKind::not_instruction_boundary: return "not_instruction_boundary";
  case ErrorKind::denied_instruction: return "denied_instruction";
  case ErrorKind::cannot_relocate: return "cannot_relocate";
  case ErrorKind::unsupported: return "unsupported";
  case ErrorKind::io: return "io";
  case ErrorKind::no_such_process: return "no_such_process";
  case ErrorKind::permission: return "permission";
  case ErrorKind::target_exited: return "target_exited";
  case ErrorKind::bad_address: return "bad_address";
  case ErrorKind::internal: return "internal";
  }
  return "error";
}

Error Error::from_errno(std::string what, int errnum, ErrorKind kind) {
  return Error(what + ": " + std::strerror(errnum), kind, errnum);
}

bool Error::is_usage() const {
  switch (kind_) {
  case ErrorKind::usage:
  case ErrorKind::parse:
  case ErrorKind::no_such_symbol:
  case ErrorKind::no_such_module:
  case ErrorKind::not_instruction_boundary:
  case ErrorKind::denied_instruction:
  case ErrorKind::cannot_relocate:
  case ErrorKind::unsupported:
    return true;
  default:
    return false;
  }
}

}  // namespace probekit
