#pragma once
// A relation during planning: a stream of the job spec being built plus the SQL view of its
// columns (names, qualifiers, types, time attributes) and its changelog kind. Internal to
// runtime/sql's planner.

#include <optional>
#include <string>
#include <vector>

#include "runtime/core/types.h"

namespace sluice::sql {

struct RelColumn {
  std::string name;       // the SQL name (as declared or aliased)
  std::string qualifier;  // the table name or alias that qualifies it ("" if none)
  std::string field;      // the stream's field; empty for a processing-time attribute
  core::Type type = core::Type::kInt64;
  bool rowtime = false;   // equals the records' event time (an event-time attribute)
  bool proctime = false;  // PROCTIME(): a processing-time attribute, not stored
  // window_start / window_end / window_time of a window table function: no field until the
  // GROUP BY window_start, window_end that aggregates the windows gives them one.
  bool window_property = false;
  // The window_start / window_end of an event-time window aggregation upstream, whose rows
  // carry window_end - 1 as event time: a GROUP BY of both (and any keys) aggregates those
  // windows again (Flink's cascading window aggregation).
  enum class WindowBound : uint8_t { kNone, kStart, kEnd };
  WindowBound window_bound = WindowBound::kNone;
};

// A window table function's assignment (TUMBLE/HOP/CUMULATE/SESSION over a table), waiting for
// the GROUP BY window_start, window_end that aggregates it.
struct WindowAssignment {
  enum class Kind { kTumble, kHop, kCumulate, kSession } kind = Kind::kTumble;
  int64_t size_ms = 0;
  int64_t slide_ms = 0;   // hop
  int64_t step_ms = 0;    // cumulate
  int64_t gap_ms = 0;     // session
  int64_t offset_ms = 0;
  bool processing_time = false;
  int offset = 0;  // of the function in the script
};

struct Rel {
  std::string stream;  // the spec's stream name
  std::vector<RelColumn> columns;
  // A changelog (Flink's RowKind): the rows of a non-windowed aggregation, a Top-N, ...
  bool updating = false;
  std::string updating_reason;  // what made it updating, for messages
  std::optional<WindowAssignment> window;  // set by a window TVF until GROUP BY consumes it

  core::SchemaPtr Schema() const {
    std::vector<core::Field> fields;
    for (const RelColumn& c : columns) {
      if (!c.field.empty()) fields.push_back(core::Field{c.field, c.type});
    }
    return std::make_shared<core::Schema>(std::move(fields));
  }
};

}  // namespace sluice::sql
