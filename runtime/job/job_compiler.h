#pragma once
// YAML job spec -> JobGraph. The format is documented in docs/job-spec.md: the linear form
// (source, pipeline, sink) and the DAG form (named `sources:` and `sinks:`, steps that name their
// `input:`, `union`, `side-output:`, partitioning steps key-by, rebalance, broadcast, rescale).
// The compiler builds a StreamGraph (one node per operator), and graph::BuildJobGraph chains it.
//
// Every error is InvalidArgument with the message "<spec path>:<line>:<column>: <what>", the
// location pointing at the YAML node (or the character inside an expression) at fault: unknown
// key or operator, missing key, a key given twice in one mapping, unknown field, type mismatch,
// bad duration, parallelism above max parallelism, an unknown or ambiguous stream name, a cycle
// among the steps, a stream nobody reads, ... A spec that compiles has had all its expressions
// type-checked and all its operators instantiated once, so it is refused at submission, never
// at run time.
//
// Pure function of its input (no I/O besides nothing: files are opened only by running tasks);
// thread-safe.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/graph/job_graph.h"
#include "sluice/environment.h"

namespace sluice::job {

// A job plugin as submitted (`sluice run --plugin lib.so -- args`): the library in the
// JobManager's blob store and the arguments of its build function.
struct PluginRef {
  std::string blob_key;  // SHA-256 of the library, 64 hex digits; empty: not a plugin job
  std::vector<std::string> args;
  std::string file_name;  // the library's file name, for messages
  // Only the library's scalar functions are used; the submission's spec_yaml is the job (a SQL
  // script's or a YAML spec's calling them).
  bool functions_only = false;
};

struct JobSubmission {
  std::string spec_yaml;
  std::string spec_path;  // shown in error messages
  std::string base_dir;   // relative paths in the spec resolve against it
  // > 0 overrides the spec's top-level (default) `parallelism` (CLI --parallelism, sluice
  // rescale -p); operators with their own `parallelism:` keep it, as in Flink.
  int parallelism = 0;
  // The functions of a job built with the C++ DataStream API (a plugin's JobDefinition, whose
  // spec_yaml is `spec_yaml` above); `process` steps name them. Null for YAML jobs. Their code
  // lives in the plugin's shared library, which stays loaded while this exists.
  std::shared_ptr<const sluice::JobDefinition> plugin = nullptr;
  // Where the plugin comes from (travels with the submission; `plugin` is loaded from it).
  PluginRef plugin_ref = {};
  // Parallelism by operator uid, over everything the spec says: set when the JobManager rescales
  // a running job's vertices (PUT /jobs/:jobid/resource-requirements), for every operator of a
  // vertex. A default forward edge between operators that now differ becomes a rebalance, as
  // Flink's default partitioning does.
  std::map<std::string, int> operator_parallelism = {};
};

absl::StatusOr<graph::JobGraph> CompileJob(const JobSubmission& submission);

}  // namespace sluice::job
