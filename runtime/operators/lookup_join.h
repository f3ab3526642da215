#pragma once
// Enrichment (lookup) join against a dimension table: Flink SQL's lookup join
// (`JOIN t FOR SYSTEM_TIME AS OF s.proc_time ON s.k = t.k`, LookupJoinRunner) over a table
// that every subtask holds whole (broadcast: the stream needs no repartitioning), loaded by a
// LookupTableSource at Open and reloaded on a schedule.
//
// Semantics: each input row is joined with the table rows whose key fields equal the row's
// key fields (SQL equality: a null key matches nothing). Inner join (default): one output row
// per match, rows without a match are dropped. Left join: rows without a match are emitted
// once with the table's fields null. Output schema: the input fields, then the selected table
// fields under their output names; output rows keep the input row's event timestamp.
//
// Reloading (processing time): with reload_interval_ms > 0, the first batch after each
// interval asks the source for the table again; the source reads it only if it changed (a
// file: size or modification time), and the new table replaces the old one between two
// batches. A failed reload keeps the old table and is logged (a dimension file being
// rewritten must not fail the job); a failed first load fails Open.
//
// State and checkpoints: the table is not part of checkpoints (like Flink's lookup cache): a
// restored subtask loads it again from the source at Open.
//
// Cost: one hash lookup per row (key bytes into a reused buffer; no allocation in steady
// state), one output row copy per match. Memory: the table's rows once per subtask.
// Thread: the owning Task's thread only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/base/clock.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"

namespace sluice::operators {

// Where a lookup table comes from (Flink's LookupTableSource). Called on the task thread.
class LookupTableSource {
 public:
  virtual ~LookupTableSource() = default;
  // The rows' schema (fixed for the source's life).
  virtual core::SchemaPtr schema() const = 0;
  // The table's current rows, or nullopt when it has not changed since the last load that
  // returned rows. Errors name the source and the bad place (file and line).
  virtual absl::StatusOr<std::optional<core::RecordBatch>> LoadIfChanged() = 0;
  // "file 'data/airports.csv'": for messages.
  virtual std::string Describe() const = 0;
};

struct LookupJoinSpec {
  std::vector<std::string> stream_keys;  // input fields, in key order
  std::vector<std::string> table_keys;   // table fields, same count and types
  // (output name, table field) for each table field to add, in output order.
  std::vector<std::pair<std::string, std::string>> select;
  bool left_join = false;
  int64_t reload_interval_ms = 0;  // 0: loaded once at Open
};

using LookupTableSourceFactory = std::function<std::unique_ptr<LookupTableSource>()>;

// InvalidArgument for: no keys or different counts, an unknown stream or table field (naming
// it and the fields there are), key fields of different types, an output name that clashes
// with an input field or another output, reload interval < 0. `clock` (processing time for
// reloads) must outlive the operator.
absl::StatusOr<std::unique_ptr<api::Operator>> MakeLookupJoin(
    core::SchemaPtr input, LookupJoinSpec spec, LookupTableSourceFactory source,
    const Clock* clock = &Clock::System());

}  // namespace sluice::operators
