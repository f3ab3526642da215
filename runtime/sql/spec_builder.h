#pragma once
// Builds the job spec (DAG form, docs/job-spec.md) that a SQL script plans into, and the
// logical plan EXPLAIN prints. Internal to runtime/sql.
//
// Step names are "<scope>.<operator>-<n>", numbered per scope (the INSERT's target table, or
// "select-<i>"), and double as uids: an unchanged statement plans into the same uids, so its
// savepoint restores. Not thread-safe.

#include <map>
#include <string>
#include <vector>

#include "yaml-cpp/yaml.h"

namespace sluice::sql {

class SpecBuilder {
 public:
  // A deep copy (YAML nodes share their data when copied).
  SpecBuilder Clone() const;

  // The scope of the names of the steps added next.
  void SetScope(std::string scope);

  bool HasSource(const std::string& name) const;
  void AddSource(const std::string& name, YAML::Node source, std::string explain);

  // A step `op` with `body` reading `input`; returns its output stream's name.
  std::string AddStep(const std::string& op, YAML::Node body, const std::string& input,
                      std::string explain);
  // key-by `keys`, then the keyed step `op`.
  std::string AddKeyedStep(const std::vector<std::string>& keys, const std::string& op,
                           YAML::Node body, const std::string& input, std::string explain);
  // A step that names its inputs itself (joins, union).
  std::string AddMultiInputStep(const std::string& op, YAML::Node body,
                                const std::vector<std::string>& inputs, std::string explain);
  void AddSink(const std::string& table, YAML::Node sink, const std::string& input,
               std::string explain);

  // The spec: settings (name, parallelism, checkpointing, ...) merged with the graph.
  YAML::Node Build(const YAML::Node& settings) const;
  // One line per operator: "<name>: <what it does> <- <inputs>", and the state it keeps.
  const std::vector<std::string>& logical_plan() const { return explain_; }
  bool empty() const { return sinks_.size() == 0; }

 private:
  std::string NextName(const std::string& op);

  std::string scope_ = "job";
  std::map<std::string, int> counters_;
  YAML::Node sources_ = YAML::Node(YAML::NodeType::Map);
  YAML::Node pipeline_ = YAML::Node(YAML::NodeType::Sequence);
  YAML::Node sinks_ = YAML::Node(YAML::NodeType::Map);
  std::vector<std::string> explain_;
};

}  // namespace sluice::sql
