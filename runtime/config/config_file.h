#pragma once
// The daemons' configuration file (sluice.yaml), Flink's flink-conf.yaml style: one file can
// configure the whole cluster, keys are Flink's dotted names, written flat
// (`jobmanager.rpc.port: 6123`) or as nested maps (`jobmanager: {rpc: {port: 6123}}`), or a mix.
// Both daemons read the same file and take the keys they need. A key that no daemon knows only
// warns, naming its place (Flink ignores unknown keys, so a Flink config.yaml must not stop a
// daemon). `-D key=value` on the command line sets or overrides keys (Set).
//
// ConfigFile is an immutable value: Load/Parse build it, getters read it. Thread-compatible.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::config {

// One documented configuration key.
struct ConfigKey {
  std::string_view key;  // Flink-style dotted name
  std::string_view default_value;
  std::string_view description;  // says the unit
};

// Every key the daemons understand (both read the same file, each uses its own subset).
std::span<const ConfigKey> KnownConfigKeys();

// "9249" -> {9249, 9249}; "9250-9260" -> {9250, 9260}; "0" = any free port; "-1" = off
// ({-1, -1}). InvalidArgument for anything else (ports 0..65535, first <= last).
absl::StatusOr<std::pair<int, int>> ParsePortRange(std::string_view text);

class ConfigFile {
 public:
  ConfigFile() = default;

  // Reads and parses `path`. NotFound/InvalidArgument name the path; YAML syntax errors carry
  // "path:line:col". Does not check key names (see UnknownKeyWarnings).
  static absl::StatusOr<ConfigFile> Load(const std::string& path);
  // Parses YAML text; `source` names it in messages (usually the path).
  static absl::StatusOr<ConfigFile> Parse(std::string_view yaml, std::string source);

  // One warning per key not in `known`: "<source>:<line>:<col>: unknown configuration key 'x'
  // (ignored)", or "-D x=...: ..." for a command-line key.
  std::vector<std::string> UnknownKeyWarnings(std::span<const ConfigKey> known) const;
  // Sets `key` from the command line ("-D key=value"), over the file's value.
  void Set(std::string key, std::string value);
  // Parses "key=value" (-D); InvalidArgument naming the text otherwise.
  absl::Status SetFromFlag(std::string_view definition);

  bool Has(std::string_view key) const { return entries_.count(std::string(key)) > 0; }
  bool empty() const { return entries_.empty(); }
  const std::string& source() const { return source_; }

  // Typed getters: when `key` is absent they return OK and leave `*out` unchanged; when the
  // value does not parse or is out of range they return InvalidArgument naming file:line, key,
  // value and what was expected.
  absl::Status GetString(std::string_view key, std::string* out) const;
  absl::Status GetInt(std::string_view key, int64_t min, int64_t max, int* out) const;
  absl::Status GetInt64(std::string_view key, int64_t min, int64_t max, int64_t* out) const;
  // A duration: a number of milliseconds or "5 s", "100 ms", "1 min" (ParseDurationMs), >= 0.
  absl::Status GetDurationMs(std::string_view key, int64_t* out) const;
  absl::Status GetBool(std::string_view key, bool* out) const;
  // A memory size in bytes: "100 mb", "64kb", "1 g" or bytes (ParseMemorySizeBytes), >= min.
  absl::Status GetMemorySize(std::string_view key, int64_t min, int64_t* out) const;
  // A port or a port range "9250-9260" (ParsePortRange).
  absl::Status GetPortRange(std::string_view key, int* first, int* last) const;

 private:
  struct Entry {
    std::string value;
    int line = 0;    // 1-based
    int column = 0;  // 1-based
  };
  absl::Status BadValue(std::string_view key, const Entry& e, std::string_view expected) const;

  std::string source_;
  std::map<std::string, Entry, std::less<>> entries_;  // flattened dotted key -> scalar
};

}  // namespace sluice::config
