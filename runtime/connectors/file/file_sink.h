#pragma once
// CSV file sink: Flink's FileSink with a CSV row format, for bounded jobs. Writes one part file
// per sink subtask into an output directory.
//
// Lifecycle of subtask i (of parallelism p), per Flink's in-progress -> finished part files:
//   Open:    creates the directory (and parents) and `<dir>/.part-<i>.csv.inprogress` (hidden, so
//            the CSV file source and most tools ignore it), truncating any leftover; writes the
//            header line (schema.HeaderLine()) if `header` is set. Subtask 0 also deletes stale
//            finished files `part-<k>.csv` with k >= p, left by an earlier run of the job at a
//            higher parallelism, so that the directory holds exactly this run's output.
//   ProcessBatch: appends each row as an RFC-4180 CSV line (RecordBatch::AppendCsvLine: ','
//            separated, timestamps ISO-8601) to a reused buffer, written out past 1 MiB.
//   Finish:  writes the rest, fsyncs, closes, and renames the file to `<dir>/part-<i>.csv`
//            (replacing the previous run's part file), then fsyncs the directory.
//   Close without Finish (failure, cancel): closes and deletes the in-progress file; the
//            previous run's `part-<i>.csv`, if any, is left untouched.
//
// Terminal: emits nothing downstream (watermarks are swallowed). output_schema() is the input
// schema. Metrics (if ctx.metrics is set): records_in, bytes_out.
// Errors: Internal "file sink: cannot <op> '<path>': <strerror>" for I/O failures.
// Threading: one instance per subtask, used from its Task thread only.

#include <memory>
#include <string>

#include "runtime/core/types.h"
#include "runtime/operators/operator.h"

namespace sluice::connectors {

struct FileSinkOptions {
  // Output directory. Required.
  std::string path;
  // Schema of the incoming batches. Required.
  core::SchemaPtr schema;
  // Whether each part file starts with a header line naming the fields.
  bool header = true;
};

std::unique_ptr<operators::Operator> MakeFileSink(FileSinkOptions opts);

}  // namespace sluice::connectors
