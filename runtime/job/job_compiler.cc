#include "runtime/job/job_compiler.h"

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/job/job_compiler_internal.h"

namespace sluice::job {
namespace internal {

std::string Compiler::Describe(int producer) const {
  if (producer < 0) {
    const SourceDecl& s = sources_[static_cast<size_t>(-1 - producer)];
    return fmt::format("source '{}' (line {})", s.stream, s.node.Mark().line + 1);
  }
  const StepDecl& s = steps_[static_cast<size_t>(producer)];
  return fmt::format("step {} '{}' (line {})", s.position, s.op(), s.step.Mark().line + 1);
}

Flow& Compiler::FlowOf(int producer, int output) {
  if (producer < 0) return sources_[static_cast<size_t>(-1 - producer)].flow;
  StepDecl& s = steps_[static_cast<size_t>(producer)];
  return output == 0 ? *s.out : *s.side;
}

void Compiler::Consume(int producer, int output) {
  if (producer < 0) {
    ++sources_[static_cast<size_t>(-1 - producer)].consumers;
  } else {
    StepDecl& s = steps_[static_cast<size_t>(producer)];
    ++(output == 0 ? s.consumers : s.side_consumers);
  }
}

absl::StatusOr<std::pair<int, int>> Compiler::Lookup(const YAML::Node& at) const {
  if (!at.IsScalar()) return r_.Error(at, "expected the name of a stream (a source or a step)");
  const std::string& name = at.Scalar();
  auto it = names_.find(name);
  if (it == names_.end()) {
    std::string known;
    for (const auto& [n, p] : names_) known += (known.empty() ? "" : ", ") + n;
    return r_.Error(at, "unknown stream '{}' (streams: {})", name, known);
  }
  if (it->second.size() > 1) {
    return r_.Error(at, "stream name '{}' is ambiguous: {} and {} both have it", name,
                    Describe(it->second[0].first), Describe(it->second[1].first));
  }
  return it->second.front();
}

absl::Status Compiler::CompileSources(const YAML::Node& root) {
  YAML::Node one = root["source"], many = root["sources"];
  if (one && many) return r_.Error(many, "give either 'source' or 'sources', not both");
  if (!one && !many) return r_.SpecError("missing required key 'source' (or 'sources')");
  std::vector<std::tuple<std::string, YAML::Node, NodeDefaults>> decls;
  if (one) {
    NodeDefaults d{"", "source", parallelism_, max_parallelism_, {}};
    std::string stream = one.IsMap() && one["name"] && one["name"].IsScalar()
                             ? one["name"].Scalar()
                             : (one.IsMap() && one["type"] && one["type"].IsScalar() ? one["type"].Scalar() : "source");
    decls.emplace_back(stream, one, d);
  } else {
    if (!many.IsMap() || many.size() == 0) {
      return r_.Error(many, "'sources' must map stream names to sources");
    }
    for (const auto& kv : many) {
      const std::string key = kv.first.as<std::string>();
      decls.emplace_back(key, kv.second, NodeDefaults{key, key, parallelism_, max_parallelism_, {}});
    }
  }
  for (auto& [stream, node, d] : decls) {
    ASSIGN_OR_RETURN(CompiledSource src, CompileSource(r_, node, d));
    Flow f;
    f.schema = src.node.output_schema;
    f.has_event_time = src.has_event_time;
    f.endpoints.push_back({sg_.AddNode(std::move(src.node)), 0});
    sources_.push_back(SourceDecl{stream, node, std::move(f), 0});
    names_[stream].emplace_back(-static_cast<int>(sources_.size()), 0);
  }
  return absl::OkStatus();
}

absl::Status Compiler::CompileSinks(const YAML::Node& root) {
  YAML::Node one = root["sink"], many = root["sinks"];
  if (one && many) return r_.Error(many, "give either 'sink' or 'sinks', not both");
  if (!one && !many) return r_.SpecError("missing required key 'sink' (or 'sinks')");
  // The default input of a sink: the last step, or the only source.
  std::optional<std::pair<int, int>> last;
  if (!steps_.empty()) last = std::make_pair(static_cast<int>(steps_.size()) - 1, 0);
  else if (sources_.size() == 1) last = std::make_pair(-1, 0);
  std::vector<std::tuple<YAML::Node, NodeDefaults>> decls;
  if (one) {
    decls.emplace_back(one, NodeDefaults{"", "sink", parallelism_, max_parallelism_, {}});
  } else {
    if (!many.IsMap() || many.size() == 0) return r_.Error(many, "'sinks' must map names to sinks");
    for (const auto& kv : many) {
      const std::string key = kv.first.as<std::string>();
      decls.emplace_back(kv.second, NodeDefaults{key, key, parallelism_, max_parallelism_, {"input"}});
    }
  }
  for (auto& [node, d] : decls) {
    std::pair<int, int> producer;
    if (node.IsMap() && node["input"]) {
      ASSIGN_OR_RETURN(producer, Lookup(node["input"]));
    } else if (last) {
      producer = *last;
    } else {
      return r_.Error(node, "sink: the job has {} sources and no steps; say which one it writes "
                      "with 'input: <source>'", sources_.size());
    }
    const Flow& in = FlowOf(producer.first, producer.second);
    if (in.partitioner == PartitionerKind::kHash) {
      return r_.Error(in.partitioned_at, "key-by: must be followed by a window, deduplicate, aggregate, top-n, over or process");
    }
    if (in.updating) d.updating_from = in.updating_from;
    ASSIGN_OR_RETURN(graph::StreamNode sink, CompileSink(r_, node, in.schema, d));
    const int id = sg_.AddNode(std::move(sink));
    Connect(in, id);
    Consume(producer.first, producer.second);
  }
  return absl::OkStatus();
}

absl::Status Compiler::CheckAllUsed() const {
  for (const auto& s : sources_) {
    if (s.consumers == 0) {
      return r_.Error(s.node, "source '{}' is not read by any step or sink", s.stream);
    }
  }
  for (const auto& s : steps_) {
    if (s.consumers == 0) {
      if (s.kind == StepKind::kKeyBy) return r_.Error(s.step, "key-by: must be followed by a window, deduplicate, aggregate, top-n, over or process");
      return r_.Error(s.step.IsMap() ? s.step : s.body, "pipeline step {} ('{}'): its output is "
                      "not read by any step or sink", s.position, s.op());
    }
    if (s.side_output && s.side_consumers == 0) {
      return r_.Error(*s.side_output, "side output '{}' is not read by any step or sink",
                      s.side_output->Scalar());
    }
  }
  return absl::OkStatus();
}

absl::Status Compiler::CompileTopLevel(const YAML::Node& root) {
  if (!root.IsMap()) {
    return r_.SpecError("a job spec must be a YAML mapping with source, pipeline and sink");
  }
  RETURN_IF_ERROR(r_.CheckKeys(root, "job",
                               {"name", "parallelism", "max-parallelism", "source", "sources",
                                "pipeline", "sink", "sinks", "checkpointing", "restart-strategy",
                                "state"}));
  ASSIGN_OR_RETURN(sg_.name, r_.GetString(root, "job", "name", false, "sluice-job"));
  ASSIGN_OR_RETURN(parallelism_, r_.GetInt(root, "job", "parallelism", 1));
  if (sub_.parallelism > 0) parallelism_ = sub_.parallelism;
  if (parallelism_ < 1) {
    return r_.Error(root["parallelism"], "job: parallelism {} must be at least 1", parallelism_);
  }
  ASSIGN_OR_RETURN(max_parallelism_, r_.GetInt(root, "job", "max-parallelism",
                                               core::ComputeDefaultMaxParallelism(parallelism_)));
  YAML::Node at_par = root["max-parallelism"] ? root["max-parallelism"] : root;
  if (auto s = core::CheckParallelism(parallelism_, max_parallelism_); !s.ok()) {
    return r_.Error(at_par, "job: {}", s.message());
  }
  return absl::OkStatus();
}

absl::Status Compiler::ApplyParallelismOverrides() {
  if (sub_.operator_parallelism.empty()) return absl::OkStatus();
  for (graph::StreamNode& node : sg_.nodes) {
    auto it = sub_.operator_parallelism.find(node.uid);
    if (it == sub_.operator_parallelism.end()) continue;
    if (it->second < 1 || it->second > node.max_parallelism) {
      return InvalidArgumentF("operator '{}' (uid '{}'): parallelism {} is not in 1..{} (its max "
                              "parallelism)",
                              node.name, node.uid, it->second, node.max_parallelism);
    }
    node.parallelism = it->second;
  }
  // Default forward edges hold only between equal parallelisms (explicit partitionings stay).
  for (graph::StreamEdge& e : sg_.edges) {
    if (e.partitioner == graph::PartitionerKind::kForward &&
        sg_.nodes[static_cast<size_t>(e.source)].parallelism !=
            sg_.nodes[static_cast<size_t>(e.target)].parallelism) {
      e.partitioner = graph::PartitionerKind::kRebalance;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<graph::JobGraph> Compiler::Compile() {
  ASSIGN_OR_RETURN(YAML::Node root, r_.Load(sub_.spec_yaml));
  try {
    RETURN_IF_ERROR(CompileTopLevel(root));
    ASSIGN_OR_RETURN(graph::JobConfig config, CompileJobConfig(r_, root));
    RETURN_IF_ERROR(CompileSources(root));
    RETURN_IF_ERROR(ParseSteps(root["pipeline"]));
    RETURN_IF_ERROR(ResolveInputs());
    ASSIGN_OR_RETURN(std::vector<int> order, OrderSteps());
    for (int i : order) RETURN_IF_ERROR(CompileStep(steps_[static_cast<size_t>(i)]));
    RETURN_IF_ERROR(CompileSinks(root));
    RETURN_IF_ERROR(CheckAllUsed());
    RETURN_IF_ERROR(ApplyParallelismOverrides());
    auto g = graph::BuildJobGraph(sg_, parallelism_, max_parallelism_, std::move(config));
    if (!g.ok()) return r_.SpecError(std::string(g.status().message()));
    // Instantiate every operator once so that a bad spec fails now, not at run time.
    for (const auto& node : sg_.nodes) {
      if (!node.op) continue;
      auto probe = node.op();
      if (!probe.ok()) return r_.SpecError(fmt::format("{}: {}", node.name, probe.status().message()));
    }
    return g;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}:{}:{}: {}", sub_.spec_path, e.mark.line + 1,
                                                  e.mark.column + 1, e.msg));
  }
}

}  // namespace internal

absl::StatusOr<graph::JobGraph> CompileJob(const JobSubmission& submission) {
  return internal::Compiler(submission).Compile();
}

}  // namespace sluice::job
