#pragma once
// CSV file sink: Flink's FileSink with a CSV row format and its two-phase commit, so that the
// output is exactly once when the job takes checkpoints. Writes part files of sink subtask i (of
// parallelism p) into an output directory:
//   `.part-<i>-<seq>-a<attempt>.csv.inprogress`  hidden, being written;
//   `.part-<i>-<seq>-a<attempt>.csv.pending`     hidden, closed and fsynced at a checkpoint,
//                                                waiting for it to complete;
//   `part-<i>-<seq>.csv`                         visible, committed; starts with the header line
//                                                when `header` is set.
// Hidden names carry the execution attempt, so a zombie attempt of a TaskManager that was
// declared lost cannot write, rename or delete its replacement's files (Flink's in-progress files
// carry a unique id for the same reason).
// `seq` counts the part files of subtask i from 0; it is kept in the operator state, so it never
// repeats after a restore. Files starting with '.' are hidden from the CSV file source and most
// tools, so a reader that ignores hidden files never sees partial or uncommitted rows.
//
// Lifecycle (one instance per subtask; every call from its Task thread):
//   Open, fresh start (no restored_state, or an empty one): creates the directory (and parents),
//            deletes this subtask's files of earlier runs (`part-<i>-*.csv`, `.part-<i>-*`, and
//            the previous version's `part-<i>.csv` / `.part-<i>.csv.inprogress`); subtask 0 also
//            deletes those of every subtask k >= p (an earlier run at a higher parallelism), so
//            that the directory then holds exactly this run's output.
//   Open, restoring (restored_state from SnapshotState): commits the pending files listed in the
//            state (they belong to completed checkpoints; a file already committed is skipped),
//            then deletes every other hidden `.part-<i>-*` file (in-progress or pending files of
//            attempts after the restored checkpoint) and every committed `part-<i>-<seq>.csv`
//            with seq >= the restored next seq (output of a later checkpoint, when an older one
//            is restored); numbering continues from the state.
//   Open, rescaling (ctx.restored_union_states: the states of ALL old subtasks j of the old
//            parallelism q, restoring at p != q): subtask i takes over every old subtask j with
//            j % p == i (j == i, or j >= p, which no subtask has any more): commits the pending
//            files listed in j's state (named part-<j>-<seq>.csv; an already committed one is
//            skipped), deletes j's hidden files and its committed files with seq >= j's restored
//            next seq, and does the same for its own index i. Its own numbering continues at the
//            largest next seq ever recorded for index i (old subtask i's state, or a retired
//            record, see below), else 0, so part-<i>-<seq> never reuses a committed name; names
//            of other indices j are never written by i. Committed files below a restored next
//            seq are never deleted. The state then also lists the taken-over indices j >= p with
//            their next seq ("retired" records, carried along by later restores), so that a
//            later scale-up that gives index j to a subtask again continues after j's committed
//            files instead of overwriting or deleting them. DataLoss if an old state is missing
//            or repeated (its pending files would never be committed); all states empty = a
//            fresh start.
//   ProcessBatch: starts an in-progress file lazily on the first row (O_TRUNC, header line) and
//            appends each row as an RFC-4180 CSV line (RecordBatch::AppendCsvLine) to a reused
//            buffer, written out past 1 MiB.
//   SnapshotState(n): if the in-progress file has rows: writes the rest, fsyncs, closes and
//            renames it to pending (directory fsynced), pending for checkpoint n. Returns state
//            {subtask, next seq, every pending file not committed yet with its checkpoint id
//            and attempt, retired indices with their next seq} (binary, magic "FSNK", version 3;
//            version 2 states, without retired indices, are still read).
//   NotifyCheckpointComplete(n): commits (pending -> final, then fsyncs the directory) every
//            pending file of a checkpoint <= n. Idempotent.
//   NotifyCheckpointAborted(n): nothing; its pending files are committed by the next
//            checkpoint that completes (Flink's behaviour).
//   Finish: without checkpointing (ctx.checkpointing_enabled false): commits the in-progress
//            file directly (always one file per subtask, header only if no rows came, as
//            before). With checkpointing: moves the in-progress file to pending and commits
//            nothing; the task's final checkpoint (SnapshotState + NotifyCheckpointComplete)
//            commits it. A pending file made by Finish belongs to the next SnapshotState.
//   Close: deletes the in-progress file, if any; pending files are kept for the restore logic.
//
// Terminal: emits nothing downstream (watermarks are swallowed). output_schema() is the input
// schema. Metrics (if ctx.metrics is set): records_in, bytes_out.
// Errors: Internal "file sink: cannot <op> '<path>': <strerror>" for I/O failures; DataLoss for
// a corrupt restored state, or when a pending file listed in it is gone and was never committed.
// Threading: one instance per subtask, used from its Task thread only.

#include <memory>
#include <string>

#include "runtime/core/types.h"
#include "runtime/api/operator.h"
#include "runtime/formats/record_format.h"

namespace sluice::connectors {

struct FileSinkOptions {
  // Output directory. Required.
  std::string path;
  // Schema of the incoming batches. Required.
  core::SchemaPtr schema;
  // csv, or json: JSON lines (one object per row, runtime/formats/record_encoder.h; nulls as
  // null), in part files named `.jsonl` instead of `.csv`, without a header.
  formats::RecordFormat format = formats::RecordFormat::kCsv;
  // Whether each part file starts with a header line naming the fields (csv only).
  bool header = true;
  // A changelog (an updating stream): every row starts with its RowKind, Flink's short string
  // (+I, -U, +U, -D): csv a leading field `op` (and header column), json an "op" member.
  bool changelog = false;
};

std::unique_ptr<api::Operator> MakeFileSink(FileSinkOptions opts);

}  // namespace sluice::connectors
