#include "runtime/config/config_file.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/durations.h"
#include "runtime/base/memory_size.h"
#include "runtime/base/status.h"
#include "yaml-cpp/yaml.h"

namespace sluice::config {
namespace {

constexpr ConfigKey kKeys[] = {
    {"jobmanager.bind-host", "0.0.0.0", "JobManager: address its gRPC server binds to"},
    {"jobmanager.rpc.address", "127.0.0.1", "TaskManager: host of the JobManager to register with"},
    {"jobmanager.rpc.port", "6123",
     "JobManager: gRPC port (0 = any free port); TaskManager: the JobManager's port"},
    {"rest.port", "8081", "JobManager: REST port (0 = any free port, -1 = no REST API)"},
    {"rest.bind-address", "0.0.0.0", "JobManager: address the REST server binds to"},
    {"rest.server.max-content-length", "4194304",
     "JobManager: largest REST request body in bytes; larger ones are answered 413 unread"},
    {"rest.server.numThreads", "2", "JobManager: event-loop threads of the REST server"},
    {"rest.server.connections-per-address", "32",
     "JobManager: concurrent REST connections one client address may hold (0 = no limit)"},
    {"heartbeat.interval", "500 ms",
     "JobManager: interval of TaskManager heartbeats (ms or '1 s')"},
    {"heartbeat.timeout", "3 s",
     "JobManager: a TaskManager silent this long is lost (ms or '5 s')"},
    {"execution.buffer-timeout", "5 ms",
     "JobManager: max time a network buffer waits before it is flushed (0 = every batch)"},
    {"state.checkpoints.dir", "",
     "JobManager: default checkpoint directory of jobs that checkpoint (no default)"},
    {"state.savepoints.dir", "", "JobManager: default savepoint directory (no default)"},
    {"blob.storage.directory", "",
     "JobManager and TaskManager: directory of job plugins (default <temp dir>/sluice-blobs)"},
    {"taskmanager.numberOfTaskSlots", "1", "TaskManager: number of slots it offers"},
    {"taskmanager.host", "127.0.0.1", "TaskManager: address others reach it on"},
    {"taskmanager.bind-host", "0.0.0.0", "TaskManager: address its gRPC server binds to"},
    {"taskmanager.rpc.port", "0", "TaskManager: gRPC/data port (0 = any free port)"},
    {"taskmanager.resource-id", "", "TaskManager: its id (empty = random)"},
    {"taskmanager.network.buffers-per-channel", "4",
     "TaskManager: credits (buffers) per input channel"},
    {"io.tmp.dirs", "",
     "JobManager and TaskManager: temporary directory (RocksDB working directories of jobs "
     "without state.local-dir, copies of fetched logs); default $TMPDIR or /tmp"},
    {"env.log.dir", "",
     "JobManager and TaskManager: directory of the rotating log file <daemon>.log (empty = "
     "console only)"},
    {"log.file", "", "JobManager and TaskManager: path of the log file, over env.log.dir"},
    {"env.log.max", "10", "JobManager and TaskManager: rolled log files kept besides the current"},
    {"env.log.max-file-size", "100 mb",
     "JobManager and TaskManager: size at which the log file rolls over (bytes, or '100 mb')"},
    {"env.log.level", "info", "JobManager and TaskManager: trace, debug, info, warn or error"},
    {"env.log.format", "text",
     "JobManager and TaskManager: text, or json (one Elastic Common Schema object per line)"},
    {"env.log.console", "true", "JobManager and TaskManager: also log to stderr"},
    {"metrics.reporter.prom.port", "9249-9259",
     "TaskManager: port (or range: the first free one) of its Prometheus endpoint GET /metrics; "
     "0 = any free port, -1 = none"},
};

}  // namespace

std::span<const ConfigKey> KnownConfigKeys() { return kKeys; }

absl::StatusOr<ConfigFile> ConfigFile::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT)
      return NotFoundF("cannot read config file '{}': {}", path, std::strerror(err));
    return InvalidArgumentF("cannot read config file '{}': {}", path, std::strerror(err));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return Parse(buffer.str(), path);
}

absl::StatusOr<ConfigFile> ConfigFile::Parse(std::string_view yaml, std::string source) {
  ConfigFile file;
  file.source_ = std::move(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentF("{}:{}:{}: invalid YAML: {}", file.source_, e.mark.line + 1,
                            e.mark.column + 1, e.msg);
  }
  if (root.IsNull()) return file;  // empty file: all defaults
  if (!root.IsMap()) {
    return InvalidArgumentF("{}:{}:{}: expected a map of configuration keys at the top level",
                            file.source_, root.Mark().line + 1, root.Mark().column + 1);
  }
  // Depth-first flatten: nested map keys join with '.'.
  struct Frame {
    YAML::Node node;
    std::string prefix;
  };
  std::vector<Frame> stack{{root, ""}};
  while (!stack.empty()) {
    Frame frame = std::move(stack.back());
    stack.pop_back();
    for (auto it = frame.node.begin(); it != frame.node.end(); ++it) {
      YAML::Node k = it->first;
      YAML::Node v = it->second;
      int line = k.Mark().line + 1;
      int column = k.Mark().column + 1;
      if (!k.IsScalar()) {
        return InvalidArgumentF("{}:{}:{}: expected a key name", file.source_, line, column);
      }
      std::string key = frame.prefix.empty() ? k.Scalar() : frame.prefix + "." + k.Scalar();
      if (v.IsMap()) {
        stack.push_back({v, key});
        continue;
      }
      if (!v.IsScalar()) {
        return InvalidArgumentF("{}:{}:{}: key '{}' needs a single value (a number or a string)",
                                file.source_, line, column, key);
      }
      auto [existing, inserted] = file.entries_.emplace(key, Entry{v.Scalar(), line, column});
      if (!inserted) {
        return InvalidArgumentF("{}:{}:{}: key '{}' is set twice (also at line {})", file.source_,
                                line, column, key, existing->second.line);
      }
    }
  }
  return file;
}

absl::Status ConfigFile::BadValue(std::string_view key, const Entry& e,
                                  std::string_view expected) const {
  if (e.line == 0) {  // from -D
    return InvalidArgumentF("-D {}={}: bad value for configuration key '{}': expected {}", key,
                            e.value, key, expected);
  }
  return InvalidArgumentF("{}:{}:{}: bad value '{}' for configuration key '{}': expected {}",
                          source_, e.line, e.column, e.value, key, expected);
}

std::vector<std::string> ConfigFile::UnknownKeyWarnings(std::span<const ConfigKey> known) const {
  std::vector<std::string> out;
  for (const auto& [key, entry] : entries_) {
    bool found = false;
    for (const auto& k : known) found = found || k.key == key;
    if (found) continue;
    if (entry.line == 0) {
      out.push_back(
          fmt::format("-D {}={}: unknown configuration key '{}' (ignored)", key, entry.value, key));
    } else {
      out.push_back(fmt::format("{}:{}:{}: unknown configuration key '{}' (ignored)", source_,
                                entry.line, entry.column, key));
    }
  }
  return out;
}

void ConfigFile::Set(std::string key, std::string value) {
  entries_[std::move(key)] = Entry{std::move(value), 0, 0};
}

absl::Status ConfigFile::SetFromFlag(std::string_view definition) {
  const size_t eq = definition.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgumentF("-D {}: expected key=value", definition);
  }
  Set(std::string(definition.substr(0, eq)), std::string(definition.substr(eq + 1)));
  return absl::OkStatus();
}

absl::Status ConfigFile::GetString(std::string_view key, std::string* out) const {
  auto it = entries_.find(key);
  if (it != entries_.end()) *out = it->second.value;
  return absl::OkStatus();
}

absl::Status ConfigFile::GetInt64(std::string_view key, int64_t min, int64_t max,
                                  int64_t* out) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return absl::OkStatus();
  const std::string& text = it->second.value;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return BadValue(key, it->second, fmt::format("an integer from {} to {}", min, max));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ConfigFile::GetInt(std::string_view key, int64_t min, int64_t max, int* out) const {
  int64_t value = *out;
  RETURN_IF_ERROR(GetInt64(key, min, max, &value));
  *out = static_cast<int>(value);
  return absl::OkStatus();
}

absl::StatusOr<std::pair<int, int>> ParsePortRange(std::string_view text) {
  auto number = [](std::string_view s, int* out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size() && *out >= 0 && *out <= 65535;
  };
  if (text == "-1") return std::pair<int, int>{-1, -1};
  int first = 0, last = 0;
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (number(text, &first)) return std::pair<int, int>{first, first};
  } else if (number(text.substr(0, dash), &first) && number(text.substr(dash + 1), &last) &&
             first <= last) {
    return std::pair<int, int>{first, last};
  }
  return InvalidArgumentF("'{}' is not a port (0-65535), a range like 9250-9260, or -1", text);
}

absl::Status ConfigFile::GetPortRange(std::string_view key, int* first, int* last) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return absl::OkStatus();
  auto range = ParsePortRange(it->second.value);
  if (!range.ok()) {
    return BadValue(key, it->second,
                    "a port (0 = any free port), a range like 9250-9260, or -1 (off)");
  }
  *first = range->first;
  *last = range->second;
  return absl::OkStatus();
}

absl::Status ConfigFile::GetDurationMs(std::string_view key, int64_t* out) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return absl::OkStatus();
  auto ms = ParseDurationMs(it->second.value);
  if (!ms.ok() || *ms < 0) {
    return BadValue(key, it->second,
                    "a duration: milliseconds or a number with a unit (ms, s, min, h, d), "
                    "e.g. '500 ms' or '5 s'");
  }
  *out = *ms;
  return absl::OkStatus();
}

absl::Status ConfigFile::GetMemorySize(std::string_view key, int64_t min, int64_t* out) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return absl::OkStatus();
  std::optional<int64_t> bytes = ParseMemorySizeBytes(it->second.value);
  if (!bytes || *bytes < min) {
    return BadValue(key, it->second,
                    fmt::format("a memory size of at least {} bytes: bytes or a number with a "
                                "unit (b, kb, mb, gb), e.g. '100 mb'",
                                min));
  }
  *out = *bytes;
  return absl::OkStatus();
}

absl::Status ConfigFile::GetBool(std::string_view key, bool* out) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return absl::OkStatus();
  const std::string& v = it->second.value;
  if (v == "true" || v == "True" || v == "TRUE") {
    *out = true;
  } else if (v == "false" || v == "False" || v == "FALSE") {
    *out = false;
  } else {
    return BadValue(key, it->second, "true or false");
  }
  return absl::OkStatus();
}

}  // namespace sluice::config
