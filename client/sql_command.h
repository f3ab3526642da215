#pragma once
// `sluice sql validate FILE` and the SQL side of `sluice sql run FILE` / `sluice run FILE.sql`:
// the script is planned here, in the CLI (runtime/sql), into a job spec that is submitted like
// any spec. docs/sql.md.

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/sql/sql_compiler.h"
#include "sluice/v1/jobmanager.pb.h"

namespace sluice::client {

// Reads and plans the script at `path`. Errors: NotFound/InvalidArgument for an unreadable
// file; InvalidArgument whose message lists every error of the script, one per line
// ("FILE:line:column: message"), or says that it has no INSERT or SELECT.
// `plugin_path`: a C++ plugin whose scalar functions CREATE FUNCTION may name (loaded here to
// plan; the submission then refers to it as a function library, functions_only).
absl::StatusOr<v1::JobSubmission> ReadSqlSubmission(const std::string& path, int parallelism,
                                                    sql::CompiledSql* compiled = nullptr,
                                                    const std::string& plugin_path = "");

// Offline validation: prints every error to `err` (exit 1) or a summary, the EXPLAIN outputs
// and, with `plan`, the logical plan, the job graph and the generated spec to `out` (exit 0).
int SqlValidate(const std::string& path, bool plan, std::ostream& out, std::ostream& err,
                const std::string& plugin_path = "");

// The plan of a compiled script: logical operators, then vertices/chains/edges.
void PrintSqlPlan(const sql::CompiledSql& compiled, std::ostream& out);

}  // namespace sluice::client
