#pragma once
// Print sink: Flink's PrintSinkFunction. Writes every row as a CSV line (as the file sink does)
// to stdout or a given stream. With parallelism > 1 each line is prefixed "<subtask+1>> " as in
// Flink, so the subtask that printed it is visible; with parallelism 1 there is no prefix.
//
// Each batch is formatted into a reused buffer and written with one write + flush under a
// process-wide mutex, so lines of different tasks never interleave (one lock per batch, not per
// record). Terminal: emits nothing downstream, swallows watermarks. Never fails except on a
// stream error (Internal).
// Delivery: at least once. It has no state and nothing to commit (the default checkpoint hooks):
// after a restore it prints again the rows that followed the restored checkpoint.
// Threading: one instance per subtask, used from its Task thread only; the output stream is
// shared between instances and guarded by the mutex.

#include <memory>
#include <ostream>

#include "runtime/core/types.h"
#include "runtime/api/operator.h"

namespace sluice::connectors {

// `out` = nullptr writes to stdout; otherwise `out` must outlive the sink. `changelog` (an
// updating input): each line starts with the row's RowKind, "+I,", "-U,", "+U," or "-D,".
std::unique_ptr<api::Operator> MakePrintSink(core::SchemaPtr schema, bool changelog = false,
                                             std::ostream* out = nullptr);

// Blackhole sink: Flink's BlackHoleSink (the Nexmark benchmark's sink). Reads nothing of the
// rows and writes nothing; counts them in records_in, so a benchmark measures the pipeline
// before it. Stateless, never fails.
std::unique_ptr<api::Operator> MakeBlackholeSink(core::SchemaPtr schema);

}  // namespace sluice::connectors
