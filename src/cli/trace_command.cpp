// cli/trace_command.cpp — `probekit trace [-p PID | -c CMD] [-C] [-d SECONDS]
// [-f text|json] [-o FILE] DEFINITION...`
//
// Each definition is parsed (all of them, every error reported with a caret)
// before the target is touched; then each becomes one engine Probe whose
// pre-handler fetches the arguments and writes one line. With -C the
// handler writes nothing and the engine's per-probe counters make the table.
#include "cli/trace_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "cli/debug_args.h"
#include "cli/d_probes.h"
#include "cli/report.h"
#include "cli/target.h"
#include "output/event.h"
#include "output/writer.h"
#include "trace/definition.h"
#include "trace/fetch.h"
#include "util/strings.h"

namespace probekit::cli {

namespace {

struct TraceOptions {
  TargetOptions target;
  bool count_only = false;
  std::optional<double> duration;
  std::string format = "text";
  std::string output = "-";
  bool verbose = false;
  bool destructive = false;
  std::string return_mechanism = "auto";
  std::string backend = "auto";
  std::vector<std::string> fail;
  std::vector<std::string> definitions;
};

// --fail [MODULE:]SYMBOL=VALUE[@PERCENT]
struct FailSpec {
  std::string location;
  std::string event;  // "fail_SYMBOL", in hit lines and the -C table alike
  int64_t value = 0;
  uint64_t per_million = 1000000;
  ProbeId id = 0;
};

Result<FailSpec> parse_fail(const std::string& text) {
  FailSpec f;
  auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0)
    return Error("expected SYMBOL=VALUE[@PERCENT], e.g. --fail malloc=0@10", ErrorKind::usage);
  f.location = text.substr(0, eq);
  std::string rest = text.substr(eq + 1);
  auto at = rest.find('@');
  auto value = parse_int(rest.substr(0, at));
  if (!value) return Error("'" + rest.substr(0, at) + "' is not an integer return value", ErrorKind::usage);
  f.value = *value;
  if (at != std::string::npos) {
    std::string pct = rest.substr(at + 1);
    char* end = nullptr;
    double p = std::strtod(pct.c_str(), &end);
    if (pct.empty() || *end != '\0' || !(p > 0) || p > 100)
      return Error("'" + pct + "' is not a percentage in (0, 100]", ErrorKind::usage);
    f.per_million = static_cast<uint64_t>(p * 10000.0 + 0.5);
  }
  return f;
}

// `@SYMBOL` is resolved at each hit: a name the target does not have would
// print (fault) at every hit, so it is refused now, as an unknown probe
// symbol is. A launched target is held at exec: its libraries are mapped
// first (as for `$arg:NAME`).
Status check_symbol_args(Session& s, const trace::Definition& def) {
  for (const auto& a : def.args) {
    if (a.base != trace::FetchBase::symbol_address || s.lookup_symbol(a.text)) continue;
    (void)s.load_libraries();
    if (auto r = s.lookup_symbol(a.text); !r) return r.error();
  }
  return {};
}

struct TracedEvent {
  trace::EventFetcher fetcher;
  ProbeId id = 0;
};

}  // namespace

int trace_main(int argc, char** argv) {
  TraceOptions opt;
  CLI::App app{"probekit trace: uprobe_events-style probes on a live process", "probekit trace"};
  app.set_help_flag("-h,--help", "print this help");
  std::optional<pid_t> pid;
  app.add_option("-p,--pid", pid, "trace the running process PID");
  app.add_option("-c,--command", opt.target.command, "run CMD ARGS under tracing");
  app.add_flag("-C,--count", opt.count_only, "print no hits; at the end, a table of hits per event");
  app.add_option("-d,--duration", opt.duration, "stop tracing after SECONDS and detach");
  app.add_option("-f,--format", opt.format, "output format: text or json");
  app.add_option("-o,--output", opt.output, "write output to FILE");
  app.add_flag("-v,--verbose", opt.verbose, "say how each probe is armed");
  app.add_flag("-w,--destructive", opt.destructive, "allow destructive actions (--fail)");
  app.add_option("--return-mechanism", opt.return_mechanism,
                 "how r: probes catch returns: auto (ret-site where every return is found), ret-site, hijack");
  app.add_option("--backend", opt.backend,
                 "how probes are armed: auto (jump where eligible), jump (counting probes patched with a jmp "
                 "into the in-process agent: no stop per hit), trap (int3, a stop per hit)");
  app.add_option("--fail", opt.fail,
                 "SYMBOL=VALUE[@PERCENT]: make SYMBOL return VALUE without running (needs -w)");
  app.add_option("definition", opt.definitions,
                 "p[:[GRP/]EVENT] [MODULE:]SYMBOL[+OFFS]|[MODULE:]0xADDR [NAME=]FETCHARG[:TYPE] ...");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    report_error("trace", e.what());
    std::fprintf(stderr, "usage: probekit trace [-p PID | -c CMD] [-C] [-d SECONDS] [-f text|json] "
                         "[-o FILE] [-w --fail SYMBOL=VALUE[@PERCENT]]... DEFINITION...\n");
    return exit_usage;
  }
  opt.target.pid = pid;

  auto format = output::parse_format(opt.format);
  if (!format) {
    report_error("trace", "unknown output format '" + opt.format + "'; use 'text' or 'json'");
    return exit_usage;
  }
  if (!opt.target.has_target()) {
    report_error("trace", "no target: give -p PID or -c 'CMD ARGS'");
    return exit_usage;
  }
  if (opt.definitions.empty() && opt.fail.empty()) {
    report_error("trace", "nothing to trace: give at least one DEFINITION (or --fail)");
    return exit_usage;
  }
  if (opt.duration && *opt.duration <= 0) {
    report_error("trace", "-d needs a positive number of seconds");
    return exit_usage;
  }

  // Every definition is checked before anything touches the target.
  std::vector<trace::Definition> defs;
  int worst = exit_ok;
  for (size_t i = 0; i < opt.definitions.size(); ++i) {
    std::vector<Error> errors;
    trace::ParseOptions po;
    po.line = static_cast<int>(i + 1);
    auto def = trace::parse_definition(opt.definitions[i], po, &errors);
    if (def) {
      defs.push_back(std::move(*def));
      continue;
    }
    if (errors.empty()) errors.push_back(def.error());
    for (const auto& e : errors) {
      // A definition is one line: point the caret into that line.
      Error shown = e;
      if (shown.range()) {
        SourceRange r = *shown.range();
        r.line = 1;
        shown.at(r);
      }
      worst = std::max(worst, report("definition " + std::to_string(i + 1), shown, opt.definitions[i]));
    }
  }
  if (worst != exit_ok) return worst;

  auto mechanism = parse_return_mechanism(opt.return_mechanism);
  if (!mechanism) return report("trace", mechanism.error());

  auto writer = output::Writer::open(opt.output);
  if (!writer) return report("trace", writer.error());
  output::Formatter formatter(*format);

  auto backend = parse_backend(opt.backend);
  if (!backend) return report("trace", backend.error());
  LaunchOptions launch;
  launch.backend = *backend;
  auto session = open_target(opt.target, launch);
  if (!session) return report("trace", session.error());
  Session& s = **session;
  route_signals_to(&s);

  std::vector<std::unique_ptr<TracedEvent>> events;
  DebugArgs debug;  // DWARF per module, opened only for `$arg:NAME` and --fail checks
  auto fail = [&](const std::string& where, const Error& e) {
    route_signals_to(nullptr);
    return report(where, e);
  };
  for (auto& def : defs) {
    auto fetcher = trace::EventFetcher::make(def, make_arg_resolver(debug, s, def));
    if (!fetcher) return fail("definition '" + def.text + "'", fetcher.error());
    if (auto st = check_symbol_args(s, def); !st) return fail("definition '" + def.text + "'", st.error());
    auto ev = std::make_unique<TracedEvent>(TracedEvent{std::move(*fetcher), 0});
    auto where = Location::parse(def.location_text());
    if (!where) return fail("definition '" + def.text + "'", where.error());
    Probe probe;
    probe.where = *where;
    probe.name = def.full_name();
    probe.maxactive = def.maxactive;
    probe.mechanism = *mechanism;
    // One line per hit: at the instruction for 'p:', when the function
    // returns for 'r:' ("(caller+0x1e <- function)", $retval in rax).
    std::function<void(HitContext&)> emit = [](HitContext&) {};
    if (!opt.count_only) {
      TracedEvent* raw = ev.get();
      output::Writer* out = &*writer;
      bool is_return = def.is_return();
      emit = [raw, out, &formatter, is_return](HitContext& ctx) {
        const auto& d = raw->fetcher.definition();
        output::Event e = output::make_event(ctx, d.group, d.event, is_return, ctx.return_address());
        for (auto& a : raw->fetcher.fetch_all(ctx)) e.args.push_back({a.name, a.value.text(), a.value.json()});
        (void)out->write(formatter.event(e));
      };
    }
    // -v: a probe armed later (a library mapped after this point) is
    // described when it arms.
    if (opt.verbose) {
      probe.armed_handler = [&s, name = def.full_name()](ProbeId armed) {
        for (const auto& line : s.describe(armed)) report_note(name + ": " + line);
      };
    }
    if (def.is_return())
      probe.return_handler = [emit](HitContext& ctx, void*) { emit(ctx); };
    else if (opt.count_only)
      probe.count_only = true;  // counted in the target where it can be a jump probe
    else
      probe.pre_handler = emit;
    auto id = s.add(std::move(probe));
    if (!id) return fail("definition '" + def.text + "'", id.error());
    if (opt.verbose)
      for (const auto& line : s.describe(*id)) report_note(def.full_name() + ": " + line);
    ev->id = *id;
    events.push_back(std::move(ev));
  }

  // --fail SYMBOL=VALUE[@PERCENT]: the kernel's fail_function for a
  // process. At the function's entry, in PERCENT of the calls, the body is
  // skipped and the caller sees VALUE returned.
  std::mt19937_64 rng{std::random_device{}()};
  std::vector<FailSpec> fails;
  for (const auto& text : opt.fail) {
    auto spec = parse_fail(text);
    if (!spec) return fail("--fail '" + text + "'", spec.error());
    if (!opt.destructive)
      return fail("--fail '" + text + "'", Error("--fail changes what the program sees: add -w to allow "
                                                 "destructive actions",
                                                 ErrorKind::usage));
    auto where = Location::parse(spec->location);
    if (!where) return fail("--fail '" + text + "'", where.error());
    if (auto path = module_path_for(s, where->module, where->symbol)) {
      if (auto ok = check_override(debug, *path, where->symbol); !ok) return fail("--fail '" + text + "'", ok.error());
    }
    Probe probe;
    probe.where = *where;
    probe.destructive = true;
    spec->event = "fail_" + where->symbol;
    probe.name = "probekit/" + spec->event;
    output::Writer* out = &*writer;
    bool quiet = opt.count_only;
    FailSpec f = *spec;
    probe.pre_handler = [f, out, &formatter, &rng, quiet](HitContext& ctx) {
      if (f.per_million < 1000000 && rng() % 1000000 >= f.per_million) return;
      if (!ctx.override_return(static_cast<uint64_t>(f.value))) return;
      if (quiet) return;
      output::Event e = output::make_event(ctx, "probekit", f.event);
      e.args.push_back({"retval", std::to_string(f.value), std::to_string(f.value)});
      (void)out->write(formatter.event(e));
    };
    auto id = s.add(std::move(probe));
    if (!id) return fail("--fail '" + text + "'", id.error());
    f.id = *id;
    fails.push_back(f);
  }

  auto status = s.run(opt.duration);
  (void)writer->flush();
  int code = exit_ok;
  if (!status) code = report("trace", status.error());

  if (opt.count_only) {
    std::vector<output::EventCount> counts;
    for (const auto& ev : events) {
      auto st = s.stats(ev->id);
      counts.push_back({ev->fetcher.definition().full_name(), st.hits, st.missed});
    }
    for (const auto& f : fails) {
      auto st = s.stats(f.id);
      counts.push_back({"probekit/" + f.event, st.hits, st.missed});
    }
    (void)writer->write(formatter.counts(counts));
  }
  (void)writer->flush();
  auto detached = s.detach();
  route_signals_to(nullptr);
  if (!detached && code == exit_ok) code = report("trace", detached.error());
  return code;
}

}  // namespace probekit::cli
