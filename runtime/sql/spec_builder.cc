#include "runtime/sql/spec_builder.h"

#include <set>

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
  if (op != "union") step["uid"] = name;  // a union is not an operator
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

namespace {

// The streams a step or sink reads.
std::vector<std::string> InputsOf(const YAML::Node& step) {
  std::vector<std::string> out;
  if (step["input"]) out.push_back(step["input"].as<std::string>());
  for (const auto& kv : step) {
    const YAML::Node body = kv.second;
    if (kv.first.as<std::string>() == "union") {
      for (const auto& i : body) out.push_back(i.as<std::string>());
    } else if (body.IsMap()) {
      for (const char* side : {"left", "right"}) {
        if (body[side] && body[side].IsMap() && body[side]["input"]) {
          out.push_back(body[side]["input"].as<std::string>());
        }
      }
    }
  }
  return out;
}

// `text` with every `field` replaced by (exprs[field]); string literals are left alone.
std::string Substitute(const std::string& text, const std::map<std::string, std::string>& exprs) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'') {  // a string literal, '' escaping a quote
      size_t j = i + 1;
      while (j < text.size() && !(text[j] == '\'' && (j + 1 >= text.size() || text[j + 1] != '\''))) {
        j += text[j] == '\'' ? 2 : 1;
      }
      out.append(text, i, j + 1 - i);
      i = j;
    } else if (c == '`') {
      const size_t end = text.find('`', i + 1);
      const std::string field = text.substr(i + 1, end - i - 1);
      auto it = exprs.find(field);
      out += it == exprs.end() ? text.substr(i, end + 1 - i) : "(" + it->second + ")";
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

// Fuses a map into the map or project it reads when nothing else reads that one (one
// operator instead of two; both are stateless, so no state or uid is lost).
YAML::Node FuseMaps(const YAML::Node& pipeline, const YAML::Node& sinks) {
  std::map<std::string, int> readers;
  for (const auto& step : pipeline) {
    for (const std::string& i : InputsOf(step)) ++readers[i];
  }
  for (const auto& kv : sinks) {
    for (const std::string& i : InputsOf(kv.second)) ++readers[i];
  }
  std::map<std::string, YAML::Node> by_name;
  for (size_t i = 0; i < pipeline.size(); ++i) {
    YAML::Node step = pipeline[i];
    if (step["name"]) by_name[step["name"].as<std::string>()] = step;
  }
  std::set<std::string> removed;
  for (size_t i = 0; i < pipeline.size(); ++i) {
    YAML::Node step = pipeline[i];
    if (!step["map"] || !step["input"]) continue;
    auto prev = by_name.find(step["input"].as<std::string>());
    if (prev == by_name.end() || readers[prev->first] != 1 || removed.count(prev->first)) continue;
    YAML::Node p = prev->second;
    if (!p["input"] || (!p["map"] && !p["project"])) continue;
    std::map<std::string, std::string> exprs;
    if (p["map"]) {
      for (const auto& e : p["map"]) exprs[e.first.as<std::string>()] = e.second.as<std::string>();
    } else {
      for (const auto& f : p["project"]) exprs[f.as<std::string>()] = "`" + f.as<std::string>() + "`";
    }
    YAML::Node fused(YAML::NodeType::Map);
    for (const auto& e : step["map"]) {
      fused[e.first.as<std::string>()] = Substitute(e.second.as<std::string>(), exprs);
    }
    step["map"] = fused;
    step["input"] = p["input"];
    removed.insert(prev->first);
  }
  YAML::Node out(YAML::NodeType::Sequence);
  for (const auto& step : pipeline) {
    if (!step["name"] || removed.count(step["name"].as<std::string>()) == 0) out.push_back(step);
  }
  return out;
}

}  // namespace

YAML::Node SpecBuilder::Build(const YAML::Node& settings) const {
  YAML::Node spec(YAML::NodeType::Map);
  spec["name"] = "sql-job";
  for (const auto& kv : settings) spec[kv.first.as<std::string>()] = kv.second;
  spec["sources"] = YAML::Clone(sources_);
  YAML::Node pipeline = FuseMaps(YAML::Clone(pipeline_), sinks_);
  if (pipeline.size() > 0) spec["pipeline"] = pipeline;
  spec["sinks"] = sinks_;
  return spec;
}

}  // namespace sluice::sql
