#include "kernel/tracefs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cctype>
#include <cstring>

#include "util/fd.h"
#include "util/strings.h"

namespace probekit::kernel {

namespace {

constexpr unsigned long kTracefsMagic = 0x74726163;  // TRACEFS_MAGIC
constexpr const char* kDefaultRoot = "/sys/kernel/tracing";
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;

bool is_tracefs(const std::string& dir) {
  struct statfs st {};
  if (statfs(dir.c_str(), &st) != 0) return false;
  return static_cast<unsigned long>(st.f_type) == kTracefsMagic;
}

// "offset:8;" -> 8
std::optional<uint64_t> attribute(std::string_view line, std::string_view key) {
  auto pos = line.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  pos += key.size();
  auto end = line.find(';', pos);
  return parse_uint(trim(line.substr(pos, end - pos)), 10);
}

// Splits "unsigned long args[6]" into type "unsigned long", name "args",
// array length 6 (0 when not an array).
void split_declaration(std::string decl, TracepointField& f, uint32_t& array_len) {
  array_len = 0;
  decl = std::string(trim(decl));
  std::string dims;
  if (!decl.empty() && decl.back() == ']') {
    auto open = decl.rfind('[');
    dims = decl.substr(open + 1, decl.size() - open - 2);
    decl = std::string(trim(decl.substr(0, open)));
    if (auto n = parse_uint(dims, 10)) array_len = static_cast<uint32_t>(*n);
  }
  size_t i = decl.size();
  while (i > 0 && (std::isalnum(static_cast<unsigned char>(decl[i - 1])) || decl[i - 1] == '_')) --i;
  f.name = decl.substr(i);
  f.c_type = std::string(trim(decl.substr(0, i)));
  if (!dims.empty()) f.c_type += "[" + dims + "]";
}

}  // namespace

const TracepointField* TracepointFormat::field(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

Result<TracepointFormat> parse_format(std::string_view text) {
  TracepointFormat out;
  bool have_id = false;
  for (const auto& raw : split(text, '\n')) {
    std::string_view line = trim(raw);
    if (starts_with(line, "name:")) {
      (void)0;
    } else if (starts_with(line, "ID:")) {
      auto id = parse_uint(trim(line.substr(3)), 10);
      if (!id) return Error("format: bad ID line '" + std::string(line) + "'", ErrorKind::parse);
      out.id = static_cast<uint32_t>(*id);
      have_id = true;
    } else if (starts_with(line, "field:")) {
      auto semi = line.find(';');
      TracepointField f;
      uint32_t array_len = 0;
      split_declaration(std::string(line.substr(6, semi - 6)), f, array_len);
      auto offset = attribute(line, "offset:");
      auto size = attribute(line, "size:");
      auto is_signed = attribute(line, "signed:");
      if (f.name.empty() || !offset || !size)
        return Error("format: cannot read field line '" + std::string(line) + "'", ErrorKind::parse);
      f.offset = static_cast<uint32_t>(*offset);
      f.size = static_cast<uint32_t>(*size);
      f.is_signed = is_signed && *is_signed != 0;
      f.common = starts_with(f.name, "common_");
      bool is_char = f.c_type.find("char") != std::string::npos;
      if (starts_with(f.c_type, "__data_loc")) {
        f.kind = is_char ? TracepointField::Kind::data_loc : TracepointField::Kind::other;
      } else if (starts_with(f.c_type, "__rel_loc")) {
        f.kind = is_char ? TracepointField::Kind::rel_loc : TracepointField::Kind::other;
      } else if (array_len > 0 || f.c_type.find('[') != std::string::npos) {
        if (is_char && f.c_type.find('*') == std::string::npos) {
          f.kind = TracepointField::Kind::char_array;
        } else if (array_len > 0 && f.size % array_len == 0 &&
                   (f.size / array_len == 1 || f.size / array_len == 2 || f.size / array_len == 4 ||
                    f.size / array_len == 8)) {
          f.kind = TracepointField::Kind::array;
          f.element_size = f.size / array_len;
        } else {
          f.kind = TracepointField::Kind::other;
        }
      } else if (f.size == 1 || f.size == 2 || f.size == 4 || f.size == 8) {
        f.kind = TracepointField::Kind::integer;
      } else {
        f.kind = TracepointField::Kind::other;
      }
      out.fields.push_back(std::move(f));
    }
  }
  if (!have_id) return Error("format: no ID line", ErrorKind::parse);
  return out;
}

std::optional<int64_t> read_integer(const TracepointField& f, const uint8_t* data, size_t size, uint32_t index) {
  uint32_t width = f.kind == TracepointField::Kind::array ? f.element_size : f.size;
  if (uint64_t{index} * width >= f.size) return std::nullopt;  // past the field (an array's end)
  uint64_t at = uint64_t{f.offset} + uint64_t{index} * width;
  if (width == 0 || width > 8 || at + width > size) return std::nullopt;
  uint64_t v = 0;
  std::memcpy(&v, data + at, width);  // little-endian
  if (width < 8 && f.is_signed && (v >> (8 * width - 1)) & 1) v |= ~uint64_t{0} << (8 * width);
  return static_cast<int64_t>(v);
}

std::optional<std::string> read_string(const TracepointField& f, const uint8_t* data, size_t size) {
  uint64_t start = 0, len = 0;
  switch (f.kind) {
  case TracepointField::Kind::char_array:
    start = f.offset;
    len = f.size;
    break;
  case TracepointField::Kind::data_loc:
  case TracepointField::Kind::rel_loc: {
    if (uint64_t{f.offset} + 4 > size) return std::nullopt;
    uint32_t loc = 0;
    std::memcpy(&loc, data + f.offset, 4);
    start = loc & 0xffff;
    len = loc >> 16;
    if (f.kind == TracepointField::Kind::rel_loc) start += uint64_t{f.offset} + 4;
    break;
  }
  default: return std::nullopt;
  }
  if (start > size) return std::nullopt;
  len = std::min<uint64_t>(len, size - start);
  const char* p = reinterpret_cast<const char*>(data + start);
  return std::string(p, strnlen(p, len));
}

Result<Tracefs> Tracefs::open() {
  if (auto missing = perf_rights_missing()) return Error(*missing, ErrorKind::permission);
  if (const char* env = std::getenv("PROBEKIT_TRACEFS"); env && *env) {
    if (is_tracefs(env)) return Tracefs(env);
    return Error(std::string("tracefs is not mounted at ") + env +
                     " (PROBEKIT_TRACEFS); mount it with 'mount -t tracefs nodev " + env + "' as root",
                 ErrorKind::io);
  }
  if (is_tracefs(kDefaultRoot)) return Tracefs(kDefaultRoot);
  if (is_tracefs("/sys/kernel/debug/tracing")) return Tracefs("/sys/kernel/debug/tracing");
  // Root, and nothing mounted: mount it, as perf does.
  if (::mount("nodev", kDefaultRoot, "tracefs", 0, nullptr) == 0 && is_tracefs(kDefaultRoot))
    return Tracefs(kDefaultRoot);
  int err = errno;
  return Error(std::string("tracefs is not mounted at ") + kDefaultRoot + " and mounting it failed (" +
                   std::strerror(err) + "); mount it with 'mount -t tracefs nodev " + kDefaultRoot + "'",
               ErrorKind::io);
}

Result<std::vector<std::pair<std::string, std::string>>> Tracefs::list(std::string_view subsystem_glob,
                                                                        std::string_view event_glob) const {
  std::vector<std::pair<std::string, std::string>> out;
  auto entries = [](const std::string& dir) -> Result<std::vector<std::string>> {
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      int err = errno;
      if (err == EACCES || err == EPERM)
        return Error("needs root or CAP_PERFMON: cannot read " + dir + " (" + std::strerror(err) + ")",
                     ErrorKind::permission);
      return Error::from_errno("cannot read " + dir, err);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      names.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  };
  auto subsystems = entries(root_ + "/events");
  if (!subsystems) return subsystems.error();
  for (const auto& s : *subsystems) {
    if (!subsystem_glob.empty() && !glob_match(subsystem_glob, s)) continue;
    auto events = entries(root_ + "/events/" + s);
    if (!events) continue;
    for (const auto& e : *events)
      if (event_glob.empty() || glob_match(event_glob, e)) out.emplace_back(s, e);
  }
  return out;
}

bool Tracefs::has_event(const std::string& subsystem, const std::string& event) const {
  return ::access((root_ + "/events/" + subsystem + "/" + event + "/format").c_str(), F_OK) == 0;
}

Result<TracepointFormat> Tracefs::format(const std::string& subsystem, const std::string& event) const {
  std::string path = root_ + "/events/" + subsystem + "/" + event + "/format";
  auto text = read_file(path, 1 << 20);
  if (!text) {
    if (text.error().errnum() == EACCES || text.error().errnum() == EPERM)
      return Error("needs root or CAP_PERFMON: cannot read " + path, ErrorKind::permission);
    return Error("no tracepoint '" + subsystem + ":" + event + "' (" + path + ": " + text.error().message() + ")",
                 ErrorKind::no_such_symbol);
  }
  auto f = parse_format(*text);
  if (!f) return std::move(f).error().context(path);
  f->subsystem = subsystem;
  f->event = event;
  return f;
}

Status Tracefs::add_kprobe(const std::string& group, const std::string& event, const std::string& function,
                           bool is_return) const {
  std::string path = root_ + "/kprobe_events";
  auto fd = Fd::open(path, O_WRONLY | O_APPEND);
  if (!fd) return fd.error();
  std::string line = std::string(is_return ? "r:" : "p:") + group + "/" + event + " " + function + "\n";
  if (::write(fd->get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    int err = errno;
    return Error("cannot put a kprobe on kernel function '" + function + "' (" + path + " refused '" +
                     std::string(trim(line)) + "': " + std::strerror(err) +
                     "); is it a kernel function that may be probed (available_filter_functions)?",
                 err == ENOENT || err == EINVAL ? ErrorKind::no_such_symbol : ErrorKind::io, err);
  }
  return {};
}

void Tracefs::remove_kprobe(const std::string& group, const std::string& event) const {
  auto fd = Fd::open(root_ + "/kprobe_events", O_WRONLY | O_APPEND);
  if (!fd) return;
  std::string line = "-:" + group + "/" + event + "\n";
  (void)!::write(fd->get(), line.data(), line.size());
}

Result<std::vector<std::string>> Tracefs::kernel_functions(std::string_view glob) const {
  auto text = read_file(root_ + "/available_filter_functions", size_t{256} << 20);
  if (!text) return text.error();
  std::vector<std::string> out;
  for (const auto& line : split(*text, '\n')) {
    auto name = std::string(trim(line.substr(0, line.find_first_of(" \t"))));
    if (!name.empty() && (glob.empty() || glob_match(glob, name))) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::string> kprobes_missing(const std::string& tracefs_root) {
  bool events_file = !tracefs_root.empty() && ::access((tracefs_root + "/kprobe_events").c_str(), F_OK) == 0;
  bool pmu = ::access("/sys/bus/event_source/devices/kprobe", F_OK) == 0;
  if (events_file || pmu) return std::nullopt;
  return "this kernel was built without CONFIG_KPROBES (no " +
         (tracefs_root.empty() ? std::string("kprobe_events in tracefs") : tracefs_root + "/kprobe_events") +
         ", no perf kprobe PMU at /sys/bus/event_source/devices/kprobe)";
}

std::optional<std::string> perf_rights_missing() {
  if (::geteuid() == 0) return std::nullopt;
  auto status = read_file("/proc/self/status", 1 << 16);
  if (status) {
    for (const auto& line : split(*status, '\n')) {
      if (!starts_with(line, "CapEff:")) continue;
      auto caps = parse_uint(trim(std::string_view(line).substr(7)), 16);
      if (caps && ((*caps >> kCapPerfmon) & 1 || (*caps >> kCapSysAdmin) & 1)) return std::nullopt;
    }
  }
  return std::string("kernel tracepoints need root or CAP_PERFMON (system-wide perf events and tracefs); "
                     "run probekit as root or give it CAP_PERFMON");
}

}  // namespace probekit::kernel
