#pragma once
// POST /sql/validate: `sluice sql validate` as a REST endpoint of the JobManager (docs/sql.md),
// for platforms that check a user's query before deploying anything. Flink has no such
// endpoint (its SQL Gateway validates by executing); the path is Sluice's.
//
// Request: the script as the body (any content type), or JSON {"script": "...", "name":
// "job.sql"}; at most kMaxSqlScriptBytes (413 beyond). Response 200 (the script's validity is
// data, not an HTTP error): {"valid": bool, "errors": [{"line", "column", "message"}],
// "statements", "inserts", "explains": [...], "logical-plan": [...], "job-plan", "spec"}.
// 400 for a JSON body without a string "script". Nothing is read, planned jobs are not run.
// Thread-safe (a pure function per request).

#include <cstddef>

#include "runtime/http/router.h"

namespace sluice::jobmanager {

inline constexpr size_t kMaxSqlScriptBytes = 1 << 20;  // 1 MiB

void AddSqlRoutes(http::Router& router);

}  // namespace sluice::jobmanager
