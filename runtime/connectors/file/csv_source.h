#pragma once
// CSV file source: Flink's FileSource with a CSV format, for bounded input.
//
// Input: a list of files and/or directories. A directory stands for all regular files directly
// inside it, sorted by name, except hidden ones whose name starts with '.' or '_' (Flink's
// default file filter; it also hides the file sink's in-progress files). Files ending in ".gz"
// are gzip-compressed (multi-member files are fine).
//
// Splits (Flink's FileSourceSplit, Hadoop's LineRecordReader rule), per file:
//   - a plain file of `size` bytes is cut into one byte range per subtask: subtask i of p reads
//     the lines that START in [i*size/p, (i+1)*size/p), including the one that crosses the
//     range end; a range that does not start at 0 skips its partial first line;
//   - a .gz file is not splittable: file number k (in the expanded, ordered file list) belongs
//     entirely to subtask k % p.
// Together the subtasks read every line exactly once.
//
// Lines: '\n' terminated, a trailing '\r' is dropped, blank lines are skipped, the last line
// needs no terminator. A quoted field cannot contain a line break (lines are split before fields,
// which is what makes byte-range splits possible). If `header` is set, line 1 of every file must
// name the schema's fields in order (a UTF-8 BOM and surrounding spaces are ignored).
//
// Fields (RFC 4180): separated by `delimiter`; a field may be enclosed in double quotes, inside
// which the delimiter is literal and "" stands for one quote. The number of fields must equal the
// schema's. Values by type: int64 (decimal, optional sign), double (decimal or scientific,
// "inf"/"nan"), string (bytes as is), bool (true/false in any case, or 1/0), timestamp (ISO-8601,
// see runtime/core/time_format.h), int32, date, bytes; nulls by `null_literal` (csv_fields.h).
//
// JSON lines (`format` kJson): each line is one JSON object read by the shared json row format
// (runtime/formats/record_format.h: simdjson, fields by name, `null` or a missing member is
// null); no header. Splitting, errors, checkpoints and event time are the same as for CSV.
//
// Event time: if `event_time` is set (a field or an expression, operators/event_time.h), each
// record's timestamp is its value (a null there is a bad row), and watermarks follow Flink's
// BoundedOutOfOrdernessWatermarks: after each emitted batch the watermark is emitted if it
// advanced. Without it records carry core::kNoTimestamp and the only watermark is kMaxWatermark.
// At the end of its input every subtask emits kMaxWatermark and PollNext returns false (also at
// once, for a subtask that has no split).
//
// Errors (they fail the task):
//   - NotFound "file source: cannot open '<path>': <strerror>" for a missing/unreadable path;
//   - InvalidArgument "<path>:<line>: <reason>" for a bad row (with bad_records kFail) or a bad
//     header, e.g.
//     "flights.csv:17: field 'delay' (column 2): 'abc' is not a valid int64" or
//     "flights.csv:17: expected 5 fields, found 4". Lines are 1-based physical lines (the header
//     is line 1), also in byte-range splits (counted on the error path only);
//   - InvalidArgument from Open for bad options (unknown event-time field, no schema, ...);
//   - DataLoss for a corrupt gzip stream.
//
// Checkpointing (Flink's FileSource / SourceReader#snapshotState): SnapshotState(n), called
// between two PollNext calls, returns this subtask's position: per split (file path, byte range)
// whether it is not started, being read or finished, the byte offset (in the uncompressed
// stream) and the line number of the next unread line, plus the watermark generator's maximum
// event time. Encoding: binary, magic "CSVS", version 1 (see state_codec.h). The line number is
// the file's physical line for splits starting at byte 0 (every .gz split); for byte-range
// splits starting later it counts from the split's first whole line (1), since the absolute
// number would need the file's prefix to be read. After a rescaling restore a subtask may list
// several positions per file (see below).
// Open with ctx.restored_state (non-empty) resumes exactly after the last row emitted before
// the snapshot: a plain file is reopened at the offset; a .gz file is decompressed from the
// start and the bytes before the offset are skipped (gzseek), nothing is emitted twice. The
// restored positions of each file must tile exactly the range this subtask reads now (one
// position per split, or several finer ones left by an earlier rescaling restore; same files,
// same sizes, same parallelism): otherwise FailedPrecondition "file source: restored position
// for '<file>' (...) but this subtask now reads ...". The first watermark emitted after such a
// restore is >= the last one before it. An empty restored_state is treated as a fresh start.
//
// Rescaling (ctx.restored_union_states non-empty: the states of ALL old subtasks, restored at
// another parallelism; restored_state is then ignored): each old position of a plain file says,
// for its byte range [s, e) with next offset o, that the lines starting in [s, o) were emitted
// and those starting in [o, e) were not (a pending split: o = s; a finished one: o = e). The
// old positions of a file must cover [0, size) exactly once. This subtask computes its own
// split [S, E) as on a fresh start and reads exactly the not-yet-emitted lines that start in it:
// an old position wholly inside [S, E) is kept as it is; one crossing S or E is cut into a
// finished part and a not-started part that starts at max(o, S) (read with the Hadoop rule, so a
// line starting exactly there is kept). Across all new subtasks every remaining line is read
// exactly once. A .gz file keeps its single position and goes to subtask file_index % p.
// Snapshots then list these finer positions (status per position), so a later restore at the
// same parallelism or another rescaling works the same way. Errors: DataLoss if an old
// subtask's state is missing, repeated or of another parallelism (its range would be skipped
// or read twice); FailedPrecondition "file source: restoring at parallelism P from parallelism
// Q: the old subtasks' positions for '<file>' cover bytes [...] but the file now has N bytes
// ..." when a file changed, or when a file the old subtasks read is no longer an input. If every
// old state is empty, Open is a fresh start.
// Watermarks after a rescaling restore start fresh (kMinWatermark; the generator's maximum is
// rebuilt from the rows this subtask reads). Neither the global maximum of the old subtasks'
// maximum event times nor any one of them describes this subtask's new stream: with byte-range
// splits of time-sorted data, old subtask k has seen times far later than the rows old subtask
// j < k has left, and the new subtask reading j's remainder would emit those rows as late (or
// fire windows before them). The minimum over the old subtasks whose unread ranges this
// subtask now reads would be safe only if every old subtask's stream was within the bound;
// starting fresh never makes a row late, and costs nothing: after a restore all downstream
// tasks restart their watermark tracking too, and this subtask's first batch sets its watermark.
//
// Rate limit (`rate_records_per_second` > 0): a token bucket of at most one batch of tokens,
// refilled at that rate, so a bounded file can be replayed as a live stream at an average of
// `rate` records per second per subtask; after a pause (backpressure, slow checkpoint) at most
// one batch is emitted at once, then the rate holds again. When out of tokens, PollNext sleeps
// until about 20 ms worth of tokens are there (never longer than 20 ms; a smaller batch rather
// than a longer wait) and may return true with nothing emitted, so the task sees barriers and
// cancellation within ~20 ms.
//
// Metrics (if ctx.metrics is set): records_out, bytes_in (bytes of lines read, uncompressed).
//
// Performance: reads through a 1 MiB buffer (zlib's gzread for .gz), splits lines and fields as
// string_views over it, and reuses one RecordBatch: no per-record heap allocation.
//
// Threading: like every Source, used by one Task thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/api/operator.h"
#include "runtime/core/types.h"
#include "runtime/formats/record_format.h"
#include "runtime/operators/event_time.h"

namespace sluice::connectors {

struct CsvSourceOptions {
  // Files or directories (see above). Required, non-empty.
  std::vector<std::string> paths;
  // The columns of every file, in order. Required.
  core::SchemaPtr schema;
  // csv or json (JSON lines); raw is not a file format.
  formats::RecordFormat format = formats::RecordFormat::kCsv;
  // Whether line 1 of each file is a header naming the schema's fields (csv only).
  bool header = true;
  char delimiter = ',';
  // The unquoted field text read as null, for every column type (YAML `null-literal`). Default
  // the empty field: `a,,c` has a null second field and `a,"",c` an empty string.
  std::string null_literal;
  // What a bad row does (Kafka's bad-records): kFail fails the task naming file and line;
  // kSkip drops it, counts it (gauge "file.records-skipped") and logs the first ones with their
  // file and line; kDeadLetter writes it to dead_letter_dir (dead_letters.h) and counts it
  // (gauge "file.records-dead-lettered").
  enum class BadRecords : uint8_t { kFail, kSkip, kDeadLetter };
  BadRecords bad_records = BadRecords::kFail;
  std::string dead_letter_dir;  // kDeadLetter: where bad-records-<subtask>.jsonl go
  // Where records get their event time; empty = no event time.
  operators::EventTimeSpec event_time;
  // Flink's forBoundedOutOfOrderness(Duration), in ms.
  int64_t max_out_of_orderness_ms = 0;
  // Rows per emitted batch (>= 1).
  size_t batch_size = 1024;
  // Records per second per subtask (YAML `rate`); 0 = unlimited. Must be >= 0.
  double rate_records_per_second = 0;
  // Clock used by the rate limit, for tests: monotonic now in ms and a sleep of the given ms.
  // Null = the real monotonic clock and std::this_thread::sleep_for.
  std::function<int64_t()> now_ms;
  std::function<void(int64_t)> sleep_ms;
};

// Creates the reader of one source subtask; the split is decided in Open from
// ctx.subtask_index and ctx.parallelism.
std::unique_ptr<api::Source> MakeCsvFileSource(CsvSourceOptions opts);

}  // namespace sluice::connectors
