// sluice-kafka-dev: a Kafka broker for tests and local use, on librdkafka's mock cluster
// (rdkafka_mock.h). Apache Kafka itself is not installable from the registries this project
// uses; the mock serves the Kafka wire protocol on real TCP ports, so any client (librdkafka,
// kcat, kafka-python) can produce to it and fetch from it.
//
//   sluice-kafka-dev --brokers 3 --topic flights:4 [--topic other:1 ...]
//                    [--replication-factor N] [--port-file PATH] [--control-stdin]
//
// Prints `bootstrap.servers=127.0.0.1:PORT,...` as one line on stdout once every topic exists
// (and writes the same line to --port-file, through a temp file and a rename), then runs until
// SIGINT or SIGTERM and exits 0. With --control-stdin it also reads commands from stdin, one a
// line (create-topic, set-leader, broker-down, broker-up), and answers each with one line on
// stdout starting with "ok " or "error ". Logs go to stderr.
//
// Exit codes: 0 after SIGINT/SIGTERM, 2 on usage errors, 1 when the cluster cannot start.
// Threads: main() runs the flags, the command loop and shutdown; the mock cluster runs its own
// broker thread and librdkafka its handle's threads. Signals are blocked in all of them and
// taken on the main thread through a signalfd.

// rdkafka_mock.h must come after rdkafka.h; sorted include order keeps it so.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "runtime/base/logging.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"
#include "tools/kafka-dev/fetch_proxy.h"

namespace sluice::tools {
namespace {

constexpr std::string_view kProgram = "sluice-kafka-dev";
constexpr int kMaxBrokers = 32;
constexpr int kMaxPartitions = 10000;
// Kafka's own limit (org.apache.kafka.common.internals.Topic.MAX_NAME_LENGTH).
constexpr size_t kMaxTopicNameLength = 249;

struct TopicSpec {
  std::string name;
  int partitions = 0;
};

// A decimal integer in [min, max]; `what` names the value in the error.
absl::StatusOr<int> ParseInt(std::string_view text, std::string_view what, int min, int max) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    return InvalidArgumentF("{}: expected an integer, got '{}'", what, text);
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    return InvalidArgumentF("{}: must be between {} and {}, got {}", what, min, max, text);
  }
  return value;
}

// Kafka's topic name rules (Topic.validate): 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
absl::Status ValidateTopicName(std::string_view name, std::string_view where) {
  if (name.empty()) return InvalidArgumentF("{}: the topic name is empty", where);
  if (name == "." || name == "..") {
    return InvalidArgumentF("{}: '{}' is not a legal topic name", where, name);
  }
  if (name.size() > kMaxTopicNameLength) {
    return InvalidArgumentF("{}: the topic name is {} characters long, at most {} are allowed",
                            where, name.size(), kMaxTopicNameLength);
  }
  for (char c : name) {
    bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
    if (!legal) {
      return InvalidArgumentF(
          "{}: topic name '{}' contains '{}'; only letters, digits, '.', '_' and '-' are allowed",
          where, name, c);
    }
  }
  return absl::OkStatus();
}

// The non-empty pieces of `text` between any of the characters in `separators`.
std::vector<std::string> Split(std::string_view text, std::string_view separators) {
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(separators, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) pieces.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return pieces;
}

// "--topic NAME:PARTITIONS", e.g. "flights:4".
absl::StatusOr<TopicSpec> ParseTopicFlag(const std::string& text) {
  std::string where = fmt::format("--topic '{}'", text);
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentF("{}: expected NAME:PARTITIONS, e.g. flights:4", where);
  }
  TopicSpec spec;
  spec.name = text.substr(0, colon);
  RETURN_IF_ERROR(ValidateTopicName(spec.name, where));
  ASSIGN_OR_RETURN(spec.partitions, ParseInt(std::string_view(text).substr(colon + 1),
                                             where + ": partitions", 1, kMaxPartitions));
  return spec;
}

// Written to a temp file and renamed, so a reader never sees half of it.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) return InternalF("cannot write '{}': {}", tmp, std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InternalF("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  return absl::OkStatus();
}

// librdkafka's log lines, through spdlog. The bookkeeping handle has no bootstrap.servers on
// purpose (it never connects anywhere); its warning about that is dropped.
void LogFromRdkafka(const rd_kafka_t*, int level, const char* facility, const char* message) {
  if (std::string_view(facility) == "CONFWARN" &&
      std::string_view(message).find("bootstrap.servers") != std::string_view::npos) {
    return;
  }
  spdlog::level::level_enum spd = level <= 3   ? spdlog::level::err
                                  : level == 4 ? spdlog::level::warn
                                  : level <= 6 ? spdlog::level::info
                                               : spdlog::level::debug;
  spdlog::log(spd, "rdkafka {}: {}", facility, message);
}

// The mock cluster and the rd_kafka_t handle it needs for its bookkeeping (a producer that never
// produces). Owned by Main; destroyed before exit. The mock's control calls post an op to the
// cluster's thread and wait for it, so they may be called from any thread.
class MockCluster {
 public:
  static absl::StatusOr<std::unique_ptr<MockCluster>> Start(int brokers) {
    char error[512] = {0};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, LogFromRdkafka);
    // rd_kafka_new takes ownership of conf on success only.
    rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    if (handle == nullptr) {
      rd_kafka_conf_destroy(conf);
      return InternalF("cannot create the librdkafka handle for the mock cluster: {}", error);
    }
    rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, brokers);
    if (cluster == nullptr) {
      rd_kafka_destroy(handle);
      return InternalF("cannot create a mock cluster of {} brokers (see the log above)", brokers);
    }
    return std::unique_ptr<MockCluster>(new MockCluster(handle, cluster, brokers));
  }

  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }

  int brokers() const { return brokers_; }

  // "127.0.0.1:PORT,127.0.0.1:PORT,..." in broker id order.
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  // A new topic whose partition p is led by broker (p mod brokers) + 1. The mock cannot grow an
  // existing topic: it answers "Topic already exists".
  //
  // Leaders are set explicitly because the 2.0.x mock puts every partition's replicas on brokers
  // 1..min(3, brokers) (ignoring `replication_factor`) and picks a random leader among them, so
  // brokers above 3 would lead nothing and tests could not know which broker a partition is on.
  absl::Status CreateTopic(const std::string& name, int partitions, int replication_factor) {
    RETURN_IF_ERROR(
        Check(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication_factor),
              fmt::format("creating topic '{}' ({} partitions, replication factor {})", name,
                          partitions, replication_factor)));
    for (int p = 0; p < partitions; ++p) {
      RETURN_IF_ERROR(SetLeader(name, p, p % brokers_ + 1));
    }
    return absl::OkStatus();
  }

  // Moves a partition's leadership (clients see NOT_LEADER and refresh their metadata); -1 makes
  // it leaderless. Creates the topic (4 partitions) when it does not exist, as the mock does.
  absl::Status SetLeader(const std::string& topic, int partition, int broker_id) {
    return Check(
        rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id),
        fmt::format("setting the leader of {}-{} to broker {}", topic, partition, broker_id));
  }

  // Disconnects the broker's clients and refuses new connections (no leader change); -1: all.
  absl::Status SetBrokerDown(int broker_id) {
    return Check(rd_kafka_mock_broker_set_down(cluster_, broker_id),
                 fmt::format("taking broker {} down", broker_id));
  }

  absl::Status SetBrokerUp(int broker_id) {
    return Check(rd_kafka_mock_broker_set_up(cluster_, broker_id),
                 fmt::format("bringing broker {} up", broker_id));
  }
  // Delays every answer of the broker by `rtt_ms` (0 = none): a slow or distant broker.
  absl::Status SetBrokerRtt(int broker_id, int rtt_ms) {
    return Check(rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms),
                 fmt::format("setting broker {}'s round-trip time", broker_id));
  }

 private:
  MockCluster(rd_kafka_t* handle, rd_kafka_mock_cluster_t* cluster, int brokers)
      : handle_(handle), cluster_(cluster), brokers_(brokers) {}

  static absl::Status Check(rd_kafka_resp_err_t err, const std::string& what) {
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
    return absl::FailedPreconditionError(
        fmt::format("{}: {} ({})", what, rd_kafka_err2str(err), rd_kafka_err2name(err)));
  }

  rd_kafka_t* handle_;
  rd_kafka_mock_cluster_t* cluster_;
  int brokers_;
};

constexpr std::string_view kCommandHelp =
    "create-topic NAME PARTITIONS [REPLICATION-FACTOR] | set-leader TOPIC PARTITION BROKER-ID | "
    "broker-down BROKER-ID | broker-up BROKER-ID | broker-rtt BROKER-ID MS | help  "
    "(BROKER-ID: 1..N, -1 = all brokers; "
    "set-leader -1 = no leader)";

// One control command (a line of --control-stdin); returns the one-line answer.
std::string RunCommand(MockCluster& cluster, int default_replication, std::string_view line) {
  std::vector<std::string> words = Split(line, " \t\r");
  if (words.empty()) return "error empty command; commands: " + std::string(kCommandHelp);
  const std::string& verb = words[0];
  auto arity = [&](size_t min, size_t max) -> absl::Status {
    size_t args = words.size() - 1;
    if (args < min || args > max) {
      return InvalidArgumentF("{}: expected {} argument(s), got {}; usage: {}", verb,
                              min == max ? std::to_string(min) : fmt::format("{}..{}", min, max),
                              args, kCommandHelp);
    }
    return absl::OkStatus();
  };
  auto broker_id = [&](const std::string& text) -> absl::StatusOr<int> {
    if (text == "-1") return -1;
    return ParseInt(text, verb + ": broker id", 1, cluster.brokers());
  };
  absl::Status status = [&]() -> absl::Status {
    if (verb == "help") return absl::OkStatus();
    if (verb == "create-topic") {
      RETURN_IF_ERROR(arity(2, 3));
      RETURN_IF_ERROR(ValidateTopicName(words[1], verb));
      ASSIGN_OR_RETURN(int partitions,
                       ParseInt(words[2], verb + ": partitions", 1, kMaxPartitions));
      int replication = default_replication;
      if (words.size() == 4) {
        ASSIGN_OR_RETURN(replication,
                         ParseInt(words[3], verb + ": replication factor", 1, cluster.brokers()));
      }
      return cluster.CreateTopic(words[1], partitions, replication);
    }
    if (verb == "set-leader") {
      RETURN_IF_ERROR(arity(3, 3));
      RETURN_IF_ERROR(ValidateTopicName(words[1], verb));
      ASSIGN_OR_RETURN(int partition,
                       ParseInt(words[2], verb + ": partition", 0, kMaxPartitions - 1));
      ASSIGN_OR_RETURN(int leader, broker_id(words[3]));
      return cluster.SetLeader(words[1], partition, leader);
    }
    if (verb == "broker-down" || verb == "broker-up") {
      RETURN_IF_ERROR(arity(1, 1));
      ASSIGN_OR_RETURN(int id, broker_id(words[1]));
      return verb == "broker-down" ? cluster.SetBrokerDown(id) : cluster.SetBrokerUp(id);
    }
    if (verb == "broker-rtt") {
      RETURN_IF_ERROR(arity(2, 2));
      ASSIGN_OR_RETURN(int id, broker_id(words[1]));
      ASSIGN_OR_RETURN(int rtt, ParseInt(words[2], verb + ": round-trip time (ms)", 0, 60'000));
      return cluster.SetBrokerRtt(id, rtt);
    }
    return InvalidArgumentF("unknown command '{}'; commands: {}", verb, kCommandHelp);
  }();
  if (!status.ok()) return fmt::format("error {}", status.message());
  if (verb == "help") return fmt::format("ok {}", kCommandHelp);
  std::string echo = words[0];
  for (size_t i = 1; i < words.size(); ++i) echo += " " + words[i];
  return "ok " + echo;
}

void Reply(const std::string& line) { std::cout << line << "\n" << std::flush; }

// Waits for SIGINT/SIGTERM; meanwhile, when `control` is set, answers the commands on stdin.
// Returns 0, or 1 when waiting itself fails.
int Serve(MockCluster& cluster, int default_replication, bool control, int signal_fd) {
  std::string pending;
  bool stdin_open = control;
  while (true) {
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    int n = poll(fds, stdin_open ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("poll failed: {}", std::strerror(errno));
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(signal_fd, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        spdlog::info("received {}, shutting down", info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        return 0;
      }
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buffer[4096];
      ssize_t got = read(STDIN_FILENO, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        // The mock keeps serving: only a signal stops the tool.
        spdlog::info("stdin closed; no more control commands, still serving until SIGTERM");
        stdin_open = false;
        if (!pending.empty()) Reply(RunCommand(cluster, default_replication, pending));
        pending.clear();
        continue;
      }
      pending.append(buffer, static_cast<size_t>(got));
      size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, newline);
        pending.erase(0, newline + 1);
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        std::string answer = RunCommand(cluster, default_replication, line);
        spdlog::info("command '{}': {}", line, answer);
        Reply(answer);
      }
    }
  }
}

int Main(int argc, char** argv) {
  CLI::App app{
      "A Kafka broker for tests and local use: librdkafka's mock cluster on 127.0.0.1. Prints "
      "'bootstrap.servers=...' on stdout, then serves until SIGINT/SIGTERM.",
      std::string(kProgram)};
  int brokers = 3;
  int replication_factor = 0;
  std::vector<std::string> topic_flags;
  std::string port_file, log_level = "info";
  bool control = false;
  bool no_fetch_proxy = false;
  int slow_request_ms = 0;
  app.add_option("--brokers", brokers, fmt::format("number of brokers (1..{})", kMaxBrokers))
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxBrokers));
  app.add_option("--topic", topic_flags,
                 fmt::format("a topic to create, NAME:PARTITIONS (partitions 1..{}); repeatable",
                             kMaxPartitions));
  auto* rf_opt =
      app.add_option("--replication-factor", replication_factor,
                     "replicas of each partition, 1..brokers [default: min(3, brokers)]; "
                     "librdkafka 2.0.x's mock ignores it (replicas are brokers 1..min(3, N))");
  app.add_option("--port-file", port_file,
                 "also write the 'bootstrap.servers=...' line to this file (temp file + rename)");
  app.add_flag("--control-stdin", control,
               "read control commands from stdin, answer each with one line on stdout; "
               "commands: " +
                   std::string(kCommandHelp));
  app.add_flag("--no-fetch-proxy", no_fetch_proxy,
               "let clients talk to the mock brokers directly: a Fetch that finds no data is "
               "then held for its whole max wait even when data arrives (librdkafka's mock)");
  app.add_option("--slow-request-ms", slow_request_ms,
                 "log every request the mock takes at least this long to answer (fetch proxy; "
                 "0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3'600'000));
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  absl::Status flags = absl::OkStatus();
  std::vector<TopicSpec> topics;
  std::set<std::string> names;
  for (const std::string& text : topic_flags) {
    auto spec = ParseTopicFlag(text);
    if (!spec.ok()) {
      flags = spec.status();
      break;
    }
    if (!names.insert(spec->name).second) {
      flags = InvalidArgumentF("--topic '{}': topic '{}' is given twice", text, spec->name);
      break;
    }
    topics.push_back(*std::move(spec));
  }
  if (rf_opt->count() == 0) {
    replication_factor = std::min(3, brokers);
  } else if (flags.ok() && (replication_factor < 1 || replication_factor > brokers)) {
    flags = InvalidArgumentF("--replication-factor: must be between 1 and --brokers ({}), got {}",
                             brokers, replication_factor);
  }
  if (!flags.ok()) {
    std::cerr << kProgram << ": " << flags.message() << "\n";
    return 2;
  }

  InitLogging("kafka-dev", log_level);
  // Blocked before librdkafka starts its threads (they inherit the mask), taken on this thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) {
    spdlog::error("signalfd failed: {}", std::strerror(errno));
    return 1;
  }

  auto cluster = MockCluster::Start(brokers);
  if (!cluster.ok()) {
    spdlog::error("{}", cluster.status().message());
    return 1;
  }
  if (rf_opt->count() > 0 && rd_kafka_version() < 0x02010000) {
    spdlog::warn(
        "--replication-factor is passed to the mock cluster, but librdkafka {}'s mock "
        "ignores it: every partition lists brokers 1..{} as its replicas",
        rd_kafka_version_str(), std::min(3, brokers));
  }
  std::string bootstraps = (*cluster)->bootstraps();
  // The mock binds 127.0.0.1 (rdkafka_mock.c); refuse to run if a librdkafka ever does not.
  for (const std::string& address : Split(bootstraps, ",")) {
    if (address.rfind("127.0.0.1:", 0) != 0) {
      spdlog::error("the mock cluster listens on '{}', expected 127.0.0.1 only", bootstraps);
      return 1;
    }
  }
  for (const TopicSpec& topic : topics) {
    absl::Status created =
        (*cluster)->CreateTopic(topic.name, topic.partitions, replication_factor);
    if (!created.ok()) {
      spdlog::error("{}", created.message());
      return 1;
    }
    spdlog::info("topic '{}': {} partition(s), leaders round-robin from broker 1", topic.name,
                 topic.partitions);
  }
  // Clients talk to the brokers through the fetch proxy (fetch_proxy.h), unless told not to.
  std::unique_ptr<FetchProxy> proxy;
  if (!no_fetch_proxy) {
    std::vector<int> upstream_ports;
    for (const std::string& address : Split(bootstraps, ",")) {
      auto port = ParseInt(address.substr(address.rfind(':') + 1), "mock broker port", 1, 65535);
      if (!port.ok()) {
        spdlog::error("{}", port.status().message());
        return 1;
      }
      upstream_ports.push_back(*port);
    }
    auto started = FetchProxy::Start(upstream_ports, slow_request_ms);
    if (!started.ok()) {
      spdlog::error("cannot start the fetch proxy: {}", std::string(started.status().message()));
      return 1;
    }
    proxy = *std::move(started);
    bootstraps.clear();
    for (int port : proxy->ports()) {
      bootstraps += fmt::format("{}127.0.0.1:{}", bootstraps.empty() ? "" : ",", port);
    }
  }
  std::string line = "bootstrap.servers=" + bootstraps;
  spdlog::info("{} brokers serving: {}", brokers, line);
  if (!port_file.empty()) {
    absl::Status written = WriteFileAtomically(port_file, line + "\n");
    if (!written.ok()) {
      spdlog::error("--port-file: {}", written.message());
      return 1;
    }
  }
  Reply(line);

  int code = Serve(**cluster, replication_factor, control, signal_fd);
  if (proxy != nullptr) proxy->Stop();
  cluster->reset();
  close(signal_fd);
  spdlog::info("mock cluster stopped");
  return code;
}

}  // namespace
}  // namespace sluice::tools

int main(int argc, char** argv) { return sluice::tools::Main(argc, argv); }
