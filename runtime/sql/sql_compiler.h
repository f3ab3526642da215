#pragma once
// A SQL script -> one job (docs/sql.md): its CREATE TABLE/VIEW and SET statements declare,
// its INSERT INTO statements (and bare SELECTs, printed) plan into one job spec (Flink's
// statement set), which the YAML job compiler then compiles like any spec (one planner, one
// engine). Nothing runs and nothing is read: this is `sluice sql validate`.
//
// Every statement is checked, and every error reported as "FILE:line:column: message" (one
// per failing statement; a statement stops at its first error). The generated spec is compiled
// too (runtime/job), so a script that validates is deployable.
// Thread-safe (no shared state).

#include <memory>
#include <string>
#include <vector>

#include "runtime/sql/source_text.h"

#include "sluice/plan.h"

namespace sluice::sql {

// One error, structured (for the REST API).
struct SqlProblem {
  int line = 0;    // 1-based; 0 when the error has no position
  int column = 0;  // 1-based, in characters
  std::string message;
};

struct CompiledSql {
  std::vector<std::string> errors;  // "FILE:line:column: message"
  std::vector<SqlProblem> problems;  // the same errors, structured
  std::string spec_yaml;            // the job; empty if the script has no INSERT or SELECT
  std::string job_plan;             // the job's vertices, chains and edges (graph::FormatPlan)
  std::vector<std::string> logical_plan;  // one line per operator, with the state it keeps
  std::vector<std::string> explains;      // the output of each EXPLAIN statement
  int statements = 0;
  int inserts = 0;

  bool ok() const { return errors.empty(); }
};

struct SqlOptions {
  // Where a bare SELECT's rows go: empty = a print sink; a directory = a file sink writing the
  // result as a changelog CSV with a header (the interactive client reads it back).
  std::string select_result_dir = {};
  // Whether avro-confluent tables contact their schema registry (columns from it, checks
  // against it; runtime/sql/catalog.h). Off: declared columns are taken as they are, and a
  // table without columns is an error (the fuzz target turns this off: no network).
  bool schema_registry_lookups = true;
  // A C++ plugin whose scalar functions CREATE FUNCTION may name (sluice sql --plugin); its
  // own job, if any, is ignored. Null: none.
  std::shared_ptr<const sluice::JobDefinition> plugin = nullptr;
};

// `base_dir` resolves the relative paths of the generated spec (the script's directory).
CompiledSql CompileSql(const SourceText& source, const std::string& base_dir,
                       const SqlOptions& options = {});

}  // namespace sluice::sql
