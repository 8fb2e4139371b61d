// output/metrics_server.h — `-x metrics=ADDR:PORT`: an HTTP endpoint that
// Prometheus (or anything reading the OpenMetrics text format) scrapes.
//
// The one idea: the server never touches the data it serves. The thread
// that owns the data (the command's run loop) renders the exposition text
// and publish()es it; the server thread (cpp-httplib, Debian's
// libcpp-httplib-dev) answers GET /metrics with the latest text under a
// mutex. So a scrape costs the traced program nothing and never races the
// aggregations, and the values are at most one publish old.
//
// The content type follows the scraper's Accept header: OpenMetrics 1.0.0
// when it asks for it (Prometheus does), else the Prometheus text format
// 0.0.4 (the same text reads as both: "# EOF" is a comment there). The
// server thread blocks every signal, so Ctrl-C reaches the run loop.
#pragma once

#include <memory>
#include <string>

#include "util/result.h"

namespace probekit::output {

class MetricsServer {
public:
  // Listens on "HOST:PORT" (an IPv4 or IPv6 address or a name, [v6]:PORT;
  // PORT 0 picks a free port) and serves on a thread of its own.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address);
  ~MetricsServer();  // stops serving and joins the thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The text GET /metrics returns from now on.
  void publish(std::string text);
  int port() const;
  const std::string& host() const;

  struct Impl;

private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace probekit::output
