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
#include <vector>

#include "cli/debug_args.h"
#include "cli/d_probes.h"
#include "cli/report.h"
#include "cli/target.h"
#include "cli/usdt.h"
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
  bool zero_ok = false;    // -Z: a module that is not loaded is no warning
  bool exit_code = false;  // --exit-code: exit with the -c command's status
  std::string return_mechanism = "auto";
  std::string backend = "auto";
  bool hands_off = false;
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
  size_t def_index = 0;  // a u: definition has one event per USDT site: -C sums them
};

}  // namespace

int trace_main(int argc, char** argv) {
  TraceOptions opt;
  CLI::App app{"probekit trace: uprobe_events-style probes on a live process", "probekit trace"};
  app.set_help_flag("-h,--help", "print this help");
  app.set_version_flag("--version", "probekit " PROBEKIT_VERSION);
  std::optional<pid_t> pid;
  app.add_option("-p,--pid", pid, "trace the running process PID");
  app.add_option("-c,--command", opt.target.command, "run CMD ARGS under tracing");
  app.add_flag("-C,--count", opt.count_only, "print no hits; at the end, a table of hits per event");
  app.add_option("-d,--duration", opt.duration, "stop tracing after SECONDS and detach");
  app.add_option("-f,--format", opt.format,
                 "output format: text, json or chrome (Chrome trace event JSON: each hit an instant event)");
  app.add_option("-o,--output", opt.output, "write output to FILE");
  app.add_flag("-v,--verbose", opt.verbose, "say how each probe is armed");
  app.add_flag("-w,--destructive", opt.destructive, "allow destructive actions (--fail)");
  app.add_flag("-Z", opt.zero_ok, "accept quietly a definition whose module is not loaded (it arms if loaded)");
  app.add_flag("--exit-code", opt.exit_code, "exit with the -c command's exit status (128+N for signal N)");
  app.add_option("--return-mechanism", opt.return_mechanism,
                 "how r: probes catch returns: auto (ret-site where every return is found), ret-site, hijack");
  app.add_option("--backend", opt.backend,
                 "how probes are armed: auto (jump where eligible), jump (counting probes patched with a jmp "
                 "into the in-process agent: no stop per hit), trap (int3, a stop per hit)");
  app.add_flag("--hands-off", opt.hands_off,
               "while every probe is a jump probe, detach from the program's threads (no ptrace stop at all); "
               "forked children then count too and exec'ed programs are not probed");
  app.add_option("--fail", opt.fail,
                 "SYMBOL=VALUE[@PERCENT]: make SYMBOL return VALUE without running (needs -w)");
  app.add_option("definition", opt.definitions,
                 "p[:[GRP/]EVENT] [MODULE:]SYMBOL[+OFFS]|[MODULE:]0xADDR [NAME=]FETCHARG[:TYPE] ...");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    report_error("trace", e.what());
    std::fprintf(stderr, "usage: probekit trace [-p PID | -c CMD] [-C] [-d SECONDS] [-f text|json|chrome] "
                         "[-o FILE] [-w --fail SYMBOL=VALUE[@PERCENT]]... DEFINITION...\n");
    return exit_usage;
  }
  opt.target.pid = pid;

  auto format = output::parse_format(opt.format);
  if (!format) {
    report_error("trace", "unknown output format '" + opt.format + "'; use 'text', 'json' or 'chrome'");
    return exit_usage;
  }
  if (*format == output::Format::chrome && opt.count_only) {
    report_error("trace", "-C prints a table of counts, not a timeline; drop -C or use -f text or -f json");
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
  auto backend = parse_backend(opt.backend);
  if (!backend) return report("trace", backend.error());
  LaunchOptions launch;
  launch.backend = *backend;
  launch.hands_off = opt.hands_off;

  // --fail needs the target only to find the function: the rest is checked
  // before anything starts.
  std::vector<FailSpec> fails;
  std::vector<Location> fail_where;
  for (const auto& text : opt.fail) {
    auto spec = parse_fail(text);
    if (!spec) return report("--fail '" + text + "'", spec.error());
    if (!opt.destructive)
      return report("--fail '" + text + "'", Error("--fail changes what the program sees: add -w to allow "
                                                   "destructive actions",
                                                   ErrorKind::usage));
    auto where = Location::parse(spec->location);
    if (!where) return report("--fail '" + text + "'", where.error());
    spec->event = "fail_" + where->symbol;
    fails.push_back(*spec);
    fail_where.push_back(*where);
  }
  std::vector<Location> def_where;
  for (const auto& def : defs) {
    if (def.usdt) {  // resolved against the target's notes (cli/usdt.h)
      def_where.emplace_back();
      continue;
    }
    auto where = Location::parse(def.location_text());
    if (!where) return report("definition '" + def.text + "'", where.error());
    def_where.push_back(*where);
  }

  // Opened (never truncated) before the target is touched; truncated when
  // tracing starts.
  auto writer = output::Writer::prepare(opt.output);
  if (!writer) return report("trace", writer.error());
  output::Formatter formatter(*format);

  route_signals_to(nullptr);  // from here on a signal stops set-up cleanly
  auto session = open_target(opt.target, launch);
  if (!session) return report("trace", session.error());
  Session& s = **session;
  route_signals_to(&s);
  const bool launched = !opt.target.command.empty();

  // A set-up error after launch ends the command launched (nothing is
  // left running behind an error); an attached process is detached.
  auto fail = [&](const std::string& where, const Error& e) {
    int code = report(where, e);
    if (launched) end_launched(s);
    (void)s.detach();
    route_signals_to(nullptr);
    return code;
  };

  // Each probe added, with what is needed to add it again (see below).
  struct Added {
    ProbeId* id;
    Probe probe;
    std::string where;  // for messages
  };
  std::vector<Added> added;

  std::vector<std::unique_ptr<TracedEvent>> events;
  DebugArgs debug;  // DWARF per module, opened only for `$arg:NAME` and --fail checks
  for (size_t i = 0; i < defs.size() && !interrupted(); ++i) {
    auto& def = defs[i];
    // A u: definition is a probe at each site of its USDT probe (one, or
    // several where the compiler copied the site), with $argN from each
    // site's note; any other definition is one probe.
    std::vector<std::optional<UsdtProbe>> sites{std::nullopt};
    bool usdt_pending = false;
    if (def.usdt) {
      auto found = resolve_usdt_definition(s, def.module, def.usdt_provider, def.usdt_name, launched || opt.zero_ok);
      if (!found) return fail("definition '" + def.text + "'", found.error());
      usdt_pending = found->pending;
      if (usdt_pending && !opt.zero_ok)
        report_warning("definition '" + def.text + "'",
                       "module '" + def.module + "' is not loaded; the probe arms if the program loads it (-Z: no warning)");
      sites.assign(found->probes.begin(), found->probes.end());
    }
    for (const auto& site : sites) {
      auto fetcher = trace::EventFetcher::make(def, site ? usdt_arg_resolver(*site) : make_arg_resolver(debug, s, def));
      if (!fetcher) return fail("definition '" + def.text + "'", fetcher.error());
      if (auto st = check_symbol_args(s, def); !st) return fail("definition '" + def.text + "'", st.error());
      auto ev = std::make_unique<TracedEvent>(TracedEvent{std::move(*fetcher), 0, i});
      Probe probe = site ? usdt_engine_probe(*site) : Probe{};
      if (!site) probe.where = def_where[i];
      probe.name = def.full_name();
      probe.maxactive = def.maxactive;
      probe.mechanism = *mechanism;
      probe.allow_pending = usdt_pending || (opt.zero_ok && !probe.where.module.empty());  // -Z: may be loaded later
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
      // Recorded in the target where the site can be a jump probe: the
      // agent reads what the arguments need, the same emit formats it. A
      // return probe's record is written at the return (the agent hijacks
      // the return address: engine/return_probes.h).
      if (!opt.count_only) {
        auto lookup = [&s](const std::string& name) { return s.lookup_symbol(name); };
        if (auto cap = trace::capture_of(ev->fetcher.definition(), lookup)) probe.capture = std::move(*cap);
      }
      auto id = s.add(probe);
      if (!id) return fail("definition '" + def.text + "'", id.error());
      ev->id = *id;
      events.push_back(std::move(ev));
      added.push_back({&events.back()->id, std::move(probe), "definition '" + def.text + "'"});
    }
  }

  // --fail SYMBOL=VALUE[@PERCENT]: the kernel's fail_function for a
  // process. At the function's entry, in PERCENT of the calls, the body is
  // skipped and the caller sees VALUE returned (Probe::fail: sampled and
  // overridden by the agent at a jump site, by the engine at a trap site);
  // the handler prints each overridden call.
  for (size_t i = 0; i < fails.size() && !interrupted(); ++i) {
    FailSpec& f = fails[i];
    const Location& where = fail_where[i];
    std::string what = "--fail '" + opt.fail[i] + "'";
    if (auto path = module_path_for(s, where.module, where.symbol)) {
      if (auto ok = check_override(debug, *path, where.symbol); !ok) return fail(what, ok.error());
    }
    Probe probe;
    probe.where = where;
    probe.destructive = true;
    probe.allow_pending = opt.zero_ok && !probe.where.module.empty();
    probe.name = "probekit/" + f.event;
    output::Writer* out = &*writer;
    bool quiet = opt.count_only;
    probe.fail = Probe::Fail{f.value, static_cast<uint32_t>(f.per_million)};
    probe.capture = Probe::Capture{};  // the event line reads the hit's thread, CPU and time only
    probe.capture->registers = 0;
    probe.pre_handler = [f, out, &formatter, quiet](HitContext& ctx) {
      if (quiet) return;
      output::Event e = output::make_event(ctx, "probekit", f.event);
      e.args.push_back({"retval", std::to_string(f.value), std::to_string(f.value)});
      (void)out->write(formatter.event(e));
    };
    auto id = s.add(probe);
    if (!id) return fail(what, id.error());
    f.id = *id;
    added.push_back({&f.id, std::move(probe), what});
  }

  // A launched command stops before ld.so has mapped its libraries, so a
  // probe on a library waits for it. Once the start-up libraries are
  // mapped, a probe that still has no site names nothing: added again now,
  // it fails as it would with -p ("did you mean"). One whose module is not
  // loaded may be loaded later (dlopen): a warning names the module (none
  // with -Z) and the probe stays pending.
  if (launched && !interrupted()) {
    if (auto loaded = s.load_libraries(); !loaded && !interrupted()) return fail("trace", loaded.error());
  }
  for (auto& a : added) {
    if (interrupted()) break;
    if (s.stats(*a.id).sites > 0) continue;
    (void)s.remove(*a.id);
    auto id = s.add(a.probe);
    if (!id && id.error().kind() == ErrorKind::no_such_module && !a.probe.where.module.empty()) {
      if (!opt.zero_ok)
        report_warning(a.where, "module '" + a.probe.where.module +
                                    "' is not loaded; the probe arms if the program loads it (-Z: no warning)");
      a.probe.allow_pending = true;
      id = s.add(a.probe);
    }
    if (!id) return fail(a.where, id.error());
    *a.id = *id;
  }
  if (opt.verbose)
    for (const auto& a : added)
      for (const auto& line : s.describe(*a.id)) report_note(a.probe.name + ": " + line);

  // A stop request (Ctrl-C, SIGTERM) during set-up ends it here: nothing
  // runs, every byte is restored at the detach below.
  bool stopped_early = interrupted();
  if (auto st = writer->start(); !st) return fail("trace", st.error());
  (void)writer->write(formatter.header());
  Result<int> status = -1;
  if (!stopped_early) status = s.run(opt.duration);
  (void)writer->write(formatter.footer());
  (void)writer->flush();
  int code = exit_ok;
  if (!status) code = report("trace", status.error());

  if (opt.count_only) {
    std::vector<output::EventCount> counts;
    for (size_t k = 0; k < events.size(); ++k) {
      const auto& ev = events[k];
      auto st = s.stats(ev->id);
      if (k > 0 && events[k - 1]->def_index == ev->def_index) {  // another site of the same u: definition
        counts.back().hits += st.hits;
        counts.back().missed += st.missed;
        continue;
      }
      counts.push_back({ev->fetcher.definition().full_name(), st.hits, st.missed});
    }
    for (const auto& f : fails) {
      auto st = s.stats(f.id);
      counts.push_back({"probekit/" + f.event, st.hits, st.missed});
    }
    (void)writer->write(formatter.counts(counts));
  }
  (void)writer->flush();
  // Records lost to full buffers, as dtrace(1) reports them.
  for (const auto& d : s.dropped_records()) {
    std::fprintf(stderr, "probekit: %llu drop%s on CPU %d\n", static_cast<unsigned long long>(d.count),
                 d.count == 1 ? "" : "s", d.cpu);
  }
  auto detached = s.detach();
  if (opt.verbose)
    for (const auto& line : s.detach_notes()) report_note(line);
  route_signals_to(nullptr);
  if (!detached && code == exit_ok) code = report("trace", detached.error());
  if (launched && status && *status >= 0) return command_ended(s.pid(), *status, s.exit_signal(), code, opt.exit_code);
  return code;
}

}  // namespace probekit::cli
