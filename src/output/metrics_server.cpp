// output/metrics_server.cpp — see metrics_server.h.
#include "output/metrics_server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "util/strings.h"

namespace probekit::output {

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::mutex mutex;
  std::string text = "# EOF\n";
  std::string host;
  int port = 0;
};

namespace {

constexpr const char* kOpenMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8";
constexpr const char* kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& address) {
  auto colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = colon == std::string::npos ? std::nullopt : parse_uint(address.substr(colon + 1), 10);
  if (host.empty() || !port || *port > 65535)
    return Error("'" + address + "' is not an address to listen on; use HOST:PORT, e.g. 127.0.0.1:9100",
                 ErrorKind::usage);
  auto impl = std::make_unique<Impl>();
  Impl* raw = impl.get();
  // httplib's default adds SO_REUSEPORT, with which a second probekit on the
  // same port would share it (and a scraper get either one's numbers) instead
  // of being told the port is taken. SO_REUSEADDR alone still lets probekit
  // listen again at once after a restart.
  impl->server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  impl->server.Get("/metrics", [raw](const httplib::Request& req, httplib::Response& res) {
    bool om = req.get_header_value("Accept").find("application/openmetrics-text") != std::string::npos;
    std::lock_guard<std::mutex> lock(raw->mutex);
    res.set_content(raw->text, om ? kOpenMetrics : kPrometheusText);
  });
  impl->server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("probekit: the aggregations are at /metrics\n", "text/plain; charset=utf-8");
  });
  int bound = -1;
  if (*port == 0) bound = impl->server.bind_to_any_port(host);
  else if (impl->server.bind_to_port(host, static_cast<int>(*port))) bound = static_cast<int>(*port);
  if (bound <= 0)
    return Error("cannot listen on '" + address +
                     "': the port is in use, or the address is not one of this machine's; pick another",
                 ErrorKind::io);
  impl->host = host;
  impl->port = bound;
  // The server's thread takes no signal: Ctrl-C and SIGTERM go to the run loop.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  // stop() only stops a server that is running: wait until it is, so that
  // an early destruction (a set-up error right after) cannot hang the join.
  for (int i = 0; i < 5000 && !impl->server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::~MetricsServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void MetricsServer::publish(std::string text) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->text = std::move(text);
}

int MetricsServer::port() const { return impl_->port; }
const std::string& MetricsServer::host() const { return impl_->host; }

}  // namespace probekit::output
