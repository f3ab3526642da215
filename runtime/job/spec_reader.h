#pragma once
// SpecReader: reading a YAML job spec with locations. Every error it makes is InvalidArgument
// "<spec path>:<line>:<column>: <what>", the location pointing at the YAML node at fault (or the
// character inside an expression). Load() parses the text and refuses a key given twice in one
// mapping, naming both lines (yaml-cpp would silently keep the first).
//
// Thread-compatible; one per compilation.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "runtime/core/types.h"
#include "runtime/expr/expression.h"
#include "runtime/formats/record_format.h"
#include "yaml-cpp/yaml.h"

namespace sluice::job {

class SpecReader {
 public:
  // `spec_path` names the spec in messages; relative paths in it resolve against `base_dir`.
  SpecReader(std::string spec_path, std::string base_dir)
      : spec_path_(std::move(spec_path)), base_dir_(std::move(base_dir)) {}

  // Parses `yaml`. InvalidArgument for a syntax error or a duplicate key.
  absl::StatusOr<YAML::Node> Load(const std::string& yaml) const;

  const std::string& spec_path() const { return spec_path_; }
  std::string Where(const YAML::Node& n) const;
  template <typename... Args>
  absl::Status Error(const YAML::Node& at, fmt::format_string<Args...> f, Args&&... args) const {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", Where(at), fmt::format(f, std::forward<Args>(args)...)));
  }
  // An error about the whole spec, without a line.
  absl::Status SpecError(const std::string& what) const;

  // `map` must be a mapping whose keys are all in `allowed`; `what` names it ("source").
  absl::Status CheckKeys(const YAML::Node& map, std::string_view what,
                         const std::set<std::string>& allowed) const;
  absl::StatusOr<std::string> GetString(const YAML::Node& map, std::string_view what,
                                        const std::string& key, bool required,
                                        const std::string& def = "") const;
  absl::StatusOr<int> GetInt(const YAML::Node& map, std::string_view what, const std::string& key,
                             int def) const;
  // A 64-bit integer; for a `timestamp` typed value also an ISO-8601 timestamp, as epoch ms.
  absl::StatusOr<int64_t> GetInt64(const YAML::Node& map, std::string_view what,
                                   const std::string& key, core::Type type = core::Type::kInt64) const;
  absl::StatusOr<bool> GetBool(const YAML::Node& map, std::string_view what,
                               const std::string& key, bool def) const;
  // A required duration ("1 h", "500 ms", bare ms) in milliseconds.
  absl::StatusOr<int64_t> GetDuration(const YAML::Node& map, std::string_view what,
                                      const std::string& key) const;
  // `parallelism:` of `map` (an operator's, Flink's setParallelism); `def` when absent.
  // Refuses anything but an integer in [1, max_parallelism], naming `what` and the location.
  absl::StatusOr<int> OperatorParallelism(const YAML::Node& map, std::string_view what, int def,
                                          int max_parallelism) const;
  // `rate:` of a source: records per second per subtask; 0 (the default) = unlimited.
  absl::StatusOr<double> GetRate(const YAML::Node& node) const;
  // `properties:` of a Kafka source, sink or dead-letter queue: librdkafka's flat key/value
  // configuration, scalars only.
  absl::Status GetKafkaProperties(const YAML::Node& map, std::string_view what,
                                  std::map<std::string, std::string>* out) const;
  // `schema-registry: {url, subject, basic-auth-user-info}` of a Kafka source or sink whose
  // format is avro-confluent (required then, refused otherwise) into `format`. `subject` (sinks
  // only; default "<topic>-value") is left empty when absent.
  absl::Status GetSchemaRegistry(const YAML::Node& map, std::string_view what, bool sink,
                                 formats::RecordFormatOptions* format) const;
  // Compiles an expression scalar against `schema`, mapping an error offset to the YAML
  // line/column.
  absl::StatusOr<std::unique_ptr<expr::Expression>> CompileExpr(const YAML::Node& scalar,
                                                                std::string_view what,
                                                                const core::Schema& schema) const;
  std::string ResolvePath(const std::string& p) const;
  // The user-defined scalar functions expressions may call (a plugin's), or null.
  void set_functions(std::shared_ptr<const expr::ScalarFunctions> f) { functions_ = std::move(f); }
  const std::shared_ptr<const expr::ScalarFunctions>& functions() const { return functions_; }
  // Required `schema:` of `map`: an ordered mapping of field name to type. InvalidArgument
  // (prefixed with `what`) when missing, empty, with an unknown type or a duplicate field.
  absl::StatusOr<core::SchemaPtr> GetSchema(const YAML::Node& map, std::string_view what) const;

 private:
  absl::Status CheckDuplicateKeys(const YAML::Node& node) const;

  std::string spec_path_;
  std::string base_dir_;
  std::shared_ptr<const expr::ScalarFunctions> functions_;
};

}  // namespace sluice::job
