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
#include "cli/report.h"
#include "cli/target.h"
#include "output/event.h"
#include "output/writer.h"
#include "trace/definition.h"
#include "trace/fetch.h"

namespace probekit::cli {

namespace {

struct TraceOptions {
  TargetOptions target;
  bool count_only = false;
  std::optional<double> duration;
  std::string format = "text";
  std::string output = "-";
  bool verbose = false;
  std::vector<std::string> definitions;
};

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
  app.add_option("definition", opt.definitions,
                 "p[:[GRP/]EVENT] [MODULE:]SYMBOL[+OFFS]|[MODULE:]0xADDR [NAME=]FETCHARG[:TYPE] ...")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    report_error("trace", e.what());
    std::fprintf(stderr, "usage: probekit trace [-p PID | -c CMD] [-C] [-d SECONDS] [-f text|json] "
                         "[-o FILE] DEFINITION...\n");
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

  auto writer = output::Writer::open(opt.output);
  if (!writer) return report("trace", writer.error());
  output::Formatter formatter(*format);

  auto session = open_target(opt.target);
  if (!session) return report("trace", session.error());
  Session& s = **session;
  route_signals_to(&s);

  std::vector<std::unique_ptr<TracedEvent>> events;
  DebugArgs debug;  // DWARF per module, opened only for `$arg:NAME`
  for (auto& def : defs) {
    auto fetcher = trace::EventFetcher::make(def, make_arg_resolver(debug, s, def));
    if (!fetcher) {
      route_signals_to(nullptr);
      return report("definition '" + def.text + "'", fetcher.error());
    }
    auto ev = std::make_unique<TracedEvent>(TracedEvent{std::move(*fetcher), 0});
    Probe probe;
    auto where = Location::parse(def.location_text());
    if (!where) {
      route_signals_to(nullptr);
      return report("definition '" + def.text + "'", where.error());
    }
    probe.where = *where;
    probe.name = def.full_name();
    probe.allow_pending = false;
    if (!opt.count_only) {
      TracedEvent* raw = ev.get();
      output::Writer* out = &*writer;
      probe.pre_handler = [raw, out, &formatter](HitContext& ctx) {
        const auto& d = raw->fetcher.definition();
        output::Event e = output::make_event(ctx, d.group, d.event);
        for (auto& a : raw->fetcher.fetch_all(ctx))
          e.args.push_back({a.name, a.value.text(), a.value.json()});
        (void)out->write(formatter.event(e));
      };
    } else {
      probe.pre_handler = [](HitContext&) {};
    }
    if (def.is_return()) {
      route_signals_to(nullptr);
      report_error("definition '" + def.text + "'",
                   "return probes ('r:') are not available yet; use 'p:' at the function entry");
      return exit_usage;
    }
    auto id = s.add(std::move(probe));
    if (!id) {
      route_signals_to(nullptr);
      return report("definition '" + def.text + "'", id.error());
    }
    ev->id = *id;
    events.push_back(std::move(ev));
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
    (void)writer->write(formatter.counts(counts));
  }
  (void)writer->flush();
  auto detached = s.detach();
  route_signals_to(nullptr);
  if (!detached && code == exit_ok) code = report("trace", detached.error());
  return code;
}

}  // namespace probekit::cli
