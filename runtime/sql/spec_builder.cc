#include "runtime/sql/spec_builder.h"

#include "fmt/format.h"

namespace sluice::sql {

SpecBuilder SpecBuilder::Clone() const {
  SpecBuilder copy;
  copy.scope_ = scope_;
  copy.counters_ = counters_;
  copy.sources_ = YAML::Clone(sources_);
  copy.pipeline_ = YAML::Clone(pipeline_);
  copy.sinks_ = YAML::Clone(sinks_);
  copy.explain_ = explain_;
  return copy;
}

void SpecBuilder::SetScope(std::string scope) { scope_ = std::move(scope); }

std::string SpecBuilder::NextName(const std::string& op) {
  const int n = ++counters_[scope_ + "." + op];
  return fmt::format("{}.{}-{}", scope_, op, n);
}

bool SpecBuilder::HasSource(const std::string& name) const { return bool(sources_[name]); }

void SpecBuilder::AddSource(const std::string& name, YAML::Node source, std::string explain) {
  sources_[name] = source;
  explain_.push_back(fmt::format("{}: {}", name, explain));
}

std::string SpecBuilder::AddStep(const std::string& op, YAML::Node body, const std::string& input,
                                 std::string explain) {
  const std::string name = NextName(op);
  YAML::Node step(YAML::NodeType::Map);
  step[op] = body;
  step["name"] = name;
  step["uid"] = name;
  step["input"] = input;
  pipeline_.push_back(step);
  explain_.push_back(fmt::format("{}: {} <- {}", name, explain, input));
  return name;
}

std::string SpecBuilder::AddKeyedStep(const std::vector<std::string>& keys, const std::string& op,
                                      YAML::Node body, const std::string& input,
                                      std::string explain) {
  YAML::Node key_by(YAML::NodeType::Map);
  YAML::Node fields(YAML::NodeType::Sequence);
  for (const std::string& k : keys) fields.push_back(k);
  key_by["key-by"] = fields;
  key_by["input"] = input;
  pipeline_.push_back(key_by);
  const std::string name = NextName(op);
  YAML::Node step(YAML::NodeType::Map);
  step[op] = body;
  step["name"] = name;
  step["uid"] = name;
  pipeline_.push_back(step);
  std::string key_text;
  for (const std::string& k : keys) key_text += (key_text.empty() ? "" : ", ") + k;
  explain_.push_back(fmt::format("{}: {} <- {} (hash by [{}])", name, explain, input, key_text));
  return name;
}

std::string SpecBuilder::AddMultiInputStep(const std::string& op, YAML::Node body,
                                           const std::vector<std::string>& inputs,
                                           std::string explain) {
  const std::string name = NextName(op);
  YAML::Node step(YAML::NodeType::Map);
  step[op] = body;
  step["name"] = name;
  step["uid"] = name;
  pipeline_.push_back(step);
  std::string in;
  for (const std::string& i : inputs) in += (in.empty() ? "" : ", ") + i;
  explain_.push_back(fmt::format("{}: {} <- {}", name, explain, in));
  return name;
}

void SpecBuilder::AddSink(const std::string& table, YAML::Node sink, const std::string& input,
                          std::string explain) {
  std::string name = table;
  const YAML::Node& existing = sinks_;
  for (int n = 2; existing[name]; ++n) name = fmt::format("{}-{}", table, n);
  sink["input"] = input;
  sink["name"] = name;
  sink["uid"] = "sink." + name;
  sinks_[name] = sink;
  explain_.push_back(fmt::format("Sink: {}: {} <- {}", name, explain, input));
}

YAML::Node SpecBuilder::Build(const YAML::Node& settings) const {
  YAML::Node spec(YAML::NodeType::Map);
  spec["name"] = "sql-job";
  for (const auto& kv : settings) spec[kv.first.as<std::string>()] = kv.second;
  spec["sources"] = sources_;
  if (pipeline_.size() > 0) spec["pipeline"] = pipeline_;
  spec["sinks"] = sinks_;
  return spec;
}

}  // namespace sluice::sql
