#include "runtime/connectors/file/file_sink.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/connectors/file/csv_source.h"
#include "runtime/connectors/file/tests/test_util.h"

namespace sluice::connectors {
namespace {

using ::sluice::connectors::testing::CollectingOutput;
using ::sluice::connectors::testing::ReadFile;
using ::sluice::connectors::testing::TempDir;
using ::sluice::connectors::testing::WriteFile;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{
      {"name", core::Type::kString}, {"n", core::Type::kInt64}, {"t", core::Type::kTimestamp}});
}

core::RecordBatch Batch(int rows, int first = 0) {
  core::RecordBatch b(Schema());
  for (int i = first; i < first + rows; ++i) {
    size_t r = b.AppendRow();
    b.SetString(r, 0, i % 2 ? "a,b" : "plain");
    b.SetInt64(r, 1, i);
    b.SetInt64(r, 2, 978307200000LL + i * 1000LL);
  }
  return b;
}

api::OperatorContext Ctx(int index, int parallelism,
                               api::OperatorMetrics* metrics = nullptr,
                               bool checkpointing = false) {
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  ctx.metrics = metrics;
  ctx.checkpointing_enabled = checkpointing;
  return ctx;
}

// The names in `dir`, sorted.
std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FileSink, WritesHeaderAndRowsAndRenamesAtFinish) {
  TempDir dir;
  std::string out_dir = dir.File("out/nested");  // parents are created
  auto sink = MakeFileSink({.path = out_dir, .schema = Schema(), .header = true});
  EXPECT_EQ(*sink->output_schema(), *Schema());
  api::OperatorMetrics metrics;
  ASSERT_TRUE(sink->Open(Ctx(1, 2, &metrics)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(2), downstream).ok());
  ASSERT_TRUE(sink->ProcessWatermark(api::kMaxWatermark, downstream).ok());
  EXPECT_TRUE(fs::exists(out_dir + "/.part-1-0-a0.csv.inprogress"));
  EXPECT_FALSE(fs::exists(out_dir + "/part-1-0.csv"));
  ASSERT_TRUE(sink->Finish(downstream).ok());
  sink->Close();
  EXPECT_EQ(Listing(out_dir), std::vector<std::string>{"part-1-0.csv"});
  const std::string expected =
      "name,n,t\n"
      "plain,0,2001-01-01T00:00:00Z\n"
      "\"a,b\",1,2001-01-01T00:00:01Z\n";
  EXPECT_EQ(ReadFile(out_dir + "/part-1-0.csv"), expected);
  // Terminal: nothing goes downstream, not even watermarks.
  EXPECT_EQ(downstream.batches, 0);
  EXPECT_TRUE(downstream.watermarks.empty());
  EXPECT_EQ(metrics.records_in.load(), 2);
  EXPECT_EQ(metrics.bytes_out.load(), static_cast<int64_t>(expected.size()));
}

TEST(FileSink, NoHeaderOption) {
  TempDir dir;
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema(), .header = false});
  ASSERT_TRUE(sink->Open(Ctx(0, 1)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(1), downstream).ok());
  ASSERT_TRUE(sink->Finish(downstream).ok());
  sink->Close();
  EXPECT_EQ(ReadFile(dir.File("part-0-0.csv")), "plain,0,2001-01-01T00:00:00Z\n");
}

TEST(FileSink, FinishWithoutCheckpointingWritesAFileEvenWithoutRows) {
  TempDir dir;
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink->Open(Ctx(0, 1)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(0), downstream).ok());
  ASSERT_TRUE(sink->Finish(downstream).ok());
  sink->Close();
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{"part-0-0.csv"});
  EXPECT_EQ(ReadFile(dir.File("part-0-0.csv")), "name,n,t\n");
}

TEST(FileSink, CloseWithoutFinishDeletesOnlyTheInProgressFile) {
  TempDir dir;
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(3), downstream).ok());
  ASSERT_TRUE(sink->SnapshotState(1).ok());
  ASSERT_TRUE(sink->ProcessBatch(Batch(3), downstream).ok());
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{".part-0-0-a0.csv.pending", ".part-0-1-a0.csv.inprogress"}));
  sink->Close();
  // The pending file stays for the restore logic (its checkpoint may have completed).
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{".part-0-0-a0.csv.pending"});
}

// A zombie attempt (its TaskManager declared lost but still running for a moment) and its
// replacement write the same subtask's part with the same sequence number: their hidden files
// differ by attempt, so the zombie's Close never deletes the replacement's data.
TEST(FileSink, HiddenFilesArePerAttemptSoAZombieCannotTouchItsReplacement) {
  TempDir dir;
  auto zombie = MakeFileSink({.path = dir.path(), .schema = Schema()});
  api::OperatorContext old_ctx = Ctx(0, 1, nullptr, true);
  old_ctx.attempt_number = 3;
  ASSERT_TRUE(zombie->Open(old_ctx).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(zombie->ProcessBatch(Batch(2), downstream).ok());
  auto replacement = MakeFileSink({.path = dir.path(), .schema = Schema()});
  api::OperatorContext new_ctx = Ctx(0, 1, nullptr, true);
  new_ctx.attempt_number = 4;
  ASSERT_TRUE(replacement->Open(new_ctx).ok());  // a fresh start removes the zombie's file
  ASSERT_TRUE(replacement->ProcessBatch(Batch(3), downstream).ok());
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{".part-0-0-a4.csv.inprogress"});
  zombie->Close();
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{".part-0-0-a4.csv.inprogress"});
  ASSERT_TRUE(replacement->SnapshotState(1).ok());
  ASSERT_TRUE(replacement->NotifyCheckpointComplete(1).ok());
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{"part-0-0.csv"});
}

TEST(FileSink, FreshStartRemovesOwnFilesAndThoseOfHigherSubtasks) {
  TempDir dir;
  const std::vector<std::string> files = {
      "part-0-0.csv",
      "part-0-5.csv",
      ".part-0-3-a0.csv.pending",
      ".part-0-4-a0.csv.inprogress",
      "part-0.csv",
      ".part-0.csv.inprogress",  // the previous version's naming
      "part-1-0.csv",
      ".part-1-2-a0.csv.pending",
      "part-1.csv",
      "part-2-0.csv",
      "part-3.csv",
      ".part-3-1-a0.csv.inprogress",
      ".part-7-1-a0.csv.pending",
      "notes.txt",
      "part-x.csv",
      "part-1-0.csv.bak",
      ".part-1-2.csv.other"};
  for (const std::string& f : files) WriteFile(dir.File(f), "old\n");
  // Subtask 1 removes only its own files.
  auto sink1 = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink1->Open(Ctx(1, 2)).ok());
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{
                ".part-0-3-a0.csv.pending", ".part-0-4-a0.csv.inprogress", ".part-0.csv.inprogress",
                ".part-1-2.csv.other", ".part-3-1-a0.csv.inprogress", ".part-7-1-a0.csv.pending",
                "notes.txt", "part-0-0.csv", "part-0-5.csv", "part-0.csv", "part-1-0.csv.bak",
                "part-2-0.csv", "part-3.csv", "part-x.csv"}));
  // Subtask 0 removes its own and those of subtasks >= the parallelism.
  auto sink0 = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink0->Open(Ctx(0, 2)).ok());
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{".part-1-2.csv.other", "notes.txt",
                                                           "part-1-0.csv.bak", "part-x.csv"}));
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink0->ProcessBatch(Batch(1), downstream).ok());
  ASSERT_TRUE(sink0->Finish(downstream).ok());
  ASSERT_TRUE(sink1->Finish(downstream).ok());
  sink0->Close();
  sink1->Close();
  EXPECT_EQ(ReadFile(dir.File("part-0-0.csv")), "name,n,t\nplain,0,2001-01-01T00:00:00Z\n");
  EXPECT_EQ(ReadFile(dir.File("part-1-0.csv")), "name,n,t\n");
}

// Rows of the committed files of a directory, read the way a downstream job would: through the
// CSV file source, which ignores hidden files.
std::vector<int64_t> VisibleRows(const std::string& dir) {
  CsvSourceOptions opts;
  opts.paths = {dir};
  opts.schema = Schema();
  auto source = MakeCsvFileSource(opts);
  std::vector<int64_t> rows;
  EXPECT_TRUE(source->Open(Ctx(0, 1)).ok());
  CollectingOutput out(Schema());
  for (;;) {
    absl::StatusOr<bool> more = source->PollNext(out);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
  }
  for (size_t r = 0; r < out.rows.num_rows(); ++r) rows.push_back(out.rows.GetInt64(r, 1));
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> v;
  for (int64_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

TEST(FileSink, TwoPhaseCommitSequence) {
  TempDir dir;
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(5, 0), downstream).ok());
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{".part-0-0-a0.csv.inprogress"});
  ASSERT_TRUE(sink->SnapshotState(1).ok());
  ASSERT_TRUE(sink->ProcessBatch(Batch(5, 5), downstream).ok());
  ASSERT_TRUE(sink->SnapshotState(2).ok());
  // A checkpoint without new rows makes no file.
  ASSERT_TRUE(sink->SnapshotState(3).ok());
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{".part-0-0-a0.csv.pending", ".part-0-1-a0.csv.pending"}));
  EXPECT_TRUE(VisibleRows(dir.path()).empty());
  sink->NotifyCheckpointAborted(3);
  ASSERT_TRUE(sink->NotifyCheckpointComplete(1).ok());
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{".part-0-1-a0.csv.pending", "part-0-0.csv"}));
  EXPECT_EQ(VisibleRows(dir.path()), Range(0, 5));
  ASSERT_TRUE(sink->NotifyCheckpointComplete(1).ok());  // idempotent
  ASSERT_TRUE(sink->NotifyCheckpointComplete(2).ok());
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{"part-0-0.csv", "part-0-1.csv"}));
  EXPECT_EQ(ReadFile(dir.File("part-0-1.csv")),
            "name,n,t\n"
            "\"a,b\",5,2001-01-01T00:00:05Z\n"
            "plain,6,2001-01-01T00:00:06Z\n"
            "\"a,b\",7,2001-01-01T00:00:07Z\n"
            "plain,8,2001-01-01T00:00:08Z\n"
            "\"a,b\",9,2001-01-01T00:00:09Z\n");
  ASSERT_TRUE(sink->NotifyCheckpointComplete(2).ok());
  ASSERT_TRUE(sink->NotifyCheckpointComplete(3).ok());
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{"part-0-0.csv", "part-0-1.csv"}));
  EXPECT_EQ(VisibleRows(dir.path()), Range(0, 10));
}

TEST(FileSink, AbortedCheckpointIsCommittedByTheNextCompletedOne) {
  TempDir dir;
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(2, 0), downstream).ok());
  ASSERT_TRUE(sink->SnapshotState(1).ok());
  sink->NotifyCheckpointAborted(1);
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{".part-0-0-a0.csv.pending"});
  ASSERT_TRUE(sink->ProcessBatch(Batch(2, 2), downstream).ok());
  ASSERT_TRUE(sink->SnapshotState(2).ok());
  ASSERT_TRUE(sink->NotifyCheckpointComplete(2).ok());
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{"part-0-0.csv", "part-0-1.csv"}));
  EXPECT_EQ(VisibleRows(dir.path()), Range(0, 4));
}

// A crash between snapshot 2 and the completion of checkpoint 2: the job restores checkpoint 1.
void RestoreAfterCrash(bool notify1_arrived) {
  SCOPED_TRACE(notify1_arrived ? "notification of checkpoint 1 arrived"
                               : "notification of checkpoint 1 lost");
  TempDir dir;
  std::string state1;
  {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
    CollectingOutput downstream(Schema());
    ASSERT_TRUE(sink->ProcessBatch(Batch(5, 0), downstream).ok());
    absl::StatusOr<std::string> s1 = sink->SnapshotState(1);
    ASSERT_TRUE(s1.ok()) << s1.status();
    state1 = *s1;
    ASSERT_TRUE(sink->ProcessBatch(Batch(5, 5), downstream).ok());
    ASSERT_TRUE(sink->SnapshotState(2).ok());
    if (notify1_arrived) {
      ASSERT_TRUE(sink->NotifyCheckpointComplete(1).ok());
    }
    ASSERT_TRUE(sink->ProcessBatch(Batch(5, 10), downstream).ok());
    sink->Close();
  }
  // kill -9 leaves the in-progress file (Close above deleted it); also a later attempt's
  // pending file and another subtask's files, which must survive.
  WriteFile(dir.File(".part-0-2-a0.csv.inprogress"), "name,n,t\nplain,10,2001-01-01T00:00:10Z\n");
  WriteFile(dir.File(".part-0-3-a0.csv.pending"), "name,n,t\nplain,12,2001-01-01T00:00:12Z\n");
  WriteFile(dir.File(".part-1-0-a0.csv.pending"), "other subtask\n");
  WriteFile(dir.File("part-1-0.csv"), "name,n,t\n");  // committed, no rows
  EXPECT_EQ(VisibleRows(dir.path()).size(), notify1_arrived ? 5u : 0u);

  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  api::OperatorContext ctx = Ctx(0, 2, nullptr, true);
  ctx.restored_state = state1;
  absl::Status open = sink->Open(ctx);
  ASSERT_TRUE(open.ok()) << open;
  // cp 1's file committed; cp 2's pending and the in-progress files of the failed attempt gone.
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{".part-1-0-a0.csv.pending", "part-0-0.csv", "part-1-0.csv"}));
  // The replay after checkpoint 1 writes rows 5.. again, into a new file numbered from the state.
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(10, 5), downstream).ok());
  EXPECT_TRUE(fs::exists(dir.File(".part-0-1-a0.csv.inprogress")));
  ASSERT_TRUE(sink->SnapshotState(3).ok());
  ASSERT_TRUE(sink->NotifyCheckpointComplete(3).ok());
  sink->Close();
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{".part-1-0-a0.csv.pending", "part-0-0.csv",
                                                           "part-0-1.csv", "part-1-0.csv"}));
  EXPECT_EQ(ReadFile(dir.File("part-0-0.csv")).substr(0, 9), "name,n,t\n");
  EXPECT_EQ(VisibleRows(dir.path()), Range(0, 15));  // every row exactly once
}

TEST(FileSink, RestoreCommitsRestoredPendingFilesAndDropsLaterAttempts) {
  RestoreAfterCrash(/*notify1_arrived=*/false);
  RestoreAfterCrash(/*notify1_arrived=*/true);
}

TEST(FileSink, RestoringTwiceFromTheSameCheckpointIsFine) {
  TempDir dir;
  std::string state;
  {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
    CollectingOutput downstream(Schema());
    ASSERT_TRUE(sink->ProcessBatch(Batch(3, 0), downstream).ok());
    state = *sink->SnapshotState(1);
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    api::OperatorContext ctx = Ctx(0, 1, nullptr, true);
    ctx.restored_state = state;
    absl::Status open = sink->Open(ctx);
    ASSERT_TRUE(open.ok()) << open;
    CollectingOutput downstream(Schema());
    ASSERT_TRUE(sink->ProcessBatch(Batch(2, 3), downstream).ok());
    ASSERT_TRUE(sink->SnapshotState(2).ok());  // never completes
    sink->Close();
  }
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{".part-0-1-a0.csv.pending", "part-0-0.csv"}));
  EXPECT_EQ(VisibleRows(dir.path()), Range(0, 3));
}

TEST(FileSink, RestoringAnOlderCheckpointRemovesLaterCommittedParts) {
  TempDir dir;
  std::string state1;
  {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
    CollectingOutput downstream(Schema());
    ASSERT_TRUE(sink->ProcessBatch(Batch(3, 0), downstream).ok());
    state1 = *sink->SnapshotState(1);
    ASSERT_TRUE(sink->NotifyCheckpointComplete(1).ok());
    ASSERT_TRUE(sink->ProcessBatch(Batch(3, 3), downstream).ok());
    ASSERT_TRUE(sink->SnapshotState(2).ok());
    ASSERT_TRUE(sink->NotifyCheckpointComplete(2).ok());
  }
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{"part-0-0.csv", "part-0-1.csv"}));
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  api::OperatorContext ctx = Ctx(0, 1, nullptr, true);
  ctx.restored_state = state1;  // e.g. --from-checkpoint of a retained older checkpoint
  ASSERT_TRUE(sink->Open(ctx).ok());
  EXPECT_EQ(Listing(dir.path()), std::vector<std::string>{"part-0-0.csv"});
}

TEST(FileSink, MissingPendingFileOfRestoredCheckpointIsDataLoss) {
  TempDir dir;
  std::string state;
  {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
    CollectingOutput downstream(Schema());
    ASSERT_TRUE(sink->ProcessBatch(Batch(3, 0), downstream).ok());
    state = *sink->SnapshotState(4);
  }
  fs::remove(dir.File(".part-0-0-a0.csv.pending"));
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  api::OperatorContext ctx = Ctx(0, 1, nullptr, true);
  ctx.restored_state = state;
  absl::Status s = sink->Open(ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(".part-0-0-a0.csv.pending' of checkpoint 4 is missing"));
  ctx.restored_state = "garbage";
  s = MakeFileSink({.path = dir.path(), .schema = Schema()})->Open(ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  ctx.restored_state = state.substr(0, state.size() - 3);
  s = MakeFileSink({.path = dir.path(), .schema = Schema()})->Open(ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("truncated"));
}

TEST(FileSink, FinishWithCheckpointingWaitsForTheFinalCheckpoint) {
  TempDir dir;
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(2, 0), downstream).ok());
  ASSERT_TRUE(sink->SnapshotState(1).ok());  // completes only together with the final one
  ASSERT_TRUE(sink->ProcessBatch(Batch(2, 2), downstream).ok());
  ASSERT_TRUE(sink->Finish(downstream).ok());
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{".part-0-0-a0.csv.pending", ".part-0-1-a0.csv.pending"}));
  // The file made pending by Finish belongs to the next checkpoint, not to an earlier one.
  ASSERT_TRUE(sink->NotifyCheckpointComplete(1).ok());
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{".part-0-1-a0.csv.pending", "part-0-0.csv"}));
  absl::StatusOr<std::string> state = sink->SnapshotState(2);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_TRUE(sink->NotifyCheckpointComplete(2).ok());
  sink->Close();
  EXPECT_EQ(Listing(dir.path()), (std::vector<std::string>{"part-0-0.csv", "part-0-1.csv"}));
  EXPECT_EQ(VisibleRows(dir.path()), Range(0, 4));

  // The final checkpoint's state lists the file Finish made pending: restoring it (a crash
  // before the notification) commits it.
  TempDir dir2;
  auto sink2 = MakeFileSink({.path = dir2.path(), .schema = Schema()});
  ASSERT_TRUE(sink2->Open(Ctx(0, 1, nullptr, true)).ok());
  ASSERT_TRUE(sink2->ProcessBatch(Batch(2, 0), downstream).ok());
  ASSERT_TRUE(sink2->Finish(downstream).ok());
  absl::StatusOr<std::string> final_state = sink2->SnapshotState(9);
  ASSERT_TRUE(final_state.ok());
  sink2->Close();
  EXPECT_EQ(Listing(dir2.path()), std::vector<std::string>{".part-0-0-a0.csv.pending"});
  auto sink3 = MakeFileSink({.path = dir2.path(), .schema = Schema()});
  api::OperatorContext ctx = Ctx(0, 1, nullptr, true);
  ctx.restored_state = *final_state;
  ASSERT_TRUE(sink3->Open(ctx).ok());
  EXPECT_EQ(Listing(dir2.path()), std::vector<std::string>{"part-0-0.csv"});
}

TEST(FileSink, FinishWithCheckpointingAndNoRowsWritesNothing) {
  TempDir dir;
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink->Open(Ctx(0, 1, nullptr, true)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->Finish(downstream).ok());
  ASSERT_TRUE(sink->SnapshotState(1).ok());
  ASSERT_TRUE(sink->NotifyCheckpointComplete(1).ok());
  sink->Close();
  EXPECT_TRUE(Listing(dir.path()).empty());
}

// --- Rescaling (restore at another parallelism from the union of all old states) -------------

api::OperatorContext RescaleCtx(int index, int parallelism,
                                      const std::vector<std::string>& old_states) {
  api::OperatorContext ctx = Ctx(index, parallelism, nullptr, true);
  ctx.restored_union_states = old_states;
  ctx.restored_parallelism = static_cast<int32_t>(old_states.size());
  return ctx;
}

// Rows of old subtask j of p=3 in checkpoint interval c: [1000 * j + 100 * c, + 10).
int64_t FirstRow(int j, int c) { return 1000 * j + 100 * c; }

// Runs p=3 sinks through checkpoint 1 (completed), checkpoint 2 (snapshotted, its completion
// notification lost) and checkpoint 3 (snapshotted, never completed), then "crashes" leaving an
// in-progress file per subtask. Returns the states of checkpoint 2 and the rows they cover.
std::vector<std::string> ThreeSubtasksCrashAfterCheckpoint2(const std::string& dir,
                                                            std::vector<int64_t>* covered) {
  std::vector<std::string> states;
  for (int j = 0; j < 3; ++j) {
    auto sink = MakeFileSink({.path = dir, .schema = Schema()});
    EXPECT_TRUE(sink->Open(Ctx(j, 3, nullptr, true)).ok());
    CollectingOutput downstream(Schema());
    for (int c = 1; c <= 3; ++c) {
      EXPECT_TRUE(sink->ProcessBatch(Batch(10, static_cast<int>(FirstRow(j, c))), downstream).ok());
      absl::StatusOr<std::string> state = sink->SnapshotState(c);
      EXPECT_TRUE(state.ok()) << state.status();
      if (c == 1) {
        EXPECT_TRUE(sink->NotifyCheckpointComplete(1).ok());
      }
      if (c == 2) states.push_back(*state);
      if (c <= 2) {
        for (int64_t r = FirstRow(j, c); r < FirstRow(j, c) + 10; ++r) covered->push_back(r);
      }
    }
    EXPECT_TRUE(sink->ProcessBatch(Batch(10, static_cast<int>(FirstRow(j, 4))), downstream).ok());
    // kill -9: the in-progress file stays (Close would delete it).
    fs::copy_file(dir + "/" + fmt::format(".part-{}-3-a0.csv.inprogress", j),
                  dir + "/" + fmt::format(".part-{}-3-a0.csv.inprogress.copy", j));
    sink->Close();
    fs::rename(dir + "/" + fmt::format(".part-{}-3-a0.csv.inprogress.copy", j),
               dir + "/" + fmt::format(".part-{}-3-a0.csv.inprogress", j));
  }
  std::sort(covered->begin(), covered->end());
  return states;
}

TEST(FileSinkRescale, TwoPhaseCommitStateOfThreeRestoredAtTwoOneAndFour) {
  for (int p : {2, 1, 4}) {
    SCOPED_TRACE("restored at parallelism " + std::to_string(p));
    TempDir dir;
    std::vector<int64_t> covered;
    std::vector<std::string> states = ThreeSubtasksCrashAfterCheckpoint2(dir.path(), &covered);
    ASSERT_EQ(states.size(), 3u);
    // Before: cp 1 committed, cp 2 and 3 pending, cp 4 in progress, for each old subtask.
    EXPECT_EQ(Listing(dir.path()).size(), 12u);
    std::vector<std::unique_ptr<api::Operator>> sinks;
    for (int i = 0; i < p; ++i) {
      sinks.push_back(MakeFileSink({.path = dir.path(), .schema = Schema()}));
      absl::Status open = sinks.back()->Open(RescaleCtx(i, p, states));
      ASSERT_TRUE(open.ok()) << open;
    }
    // Every pending file of checkpoint 2 committed once, later attempts' hidden files gone.
    EXPECT_EQ(Listing(dir.path()),
              (std::vector<std::string>{"part-0-0.csv", "part-0-1.csv", "part-1-0.csv",
                                        "part-1-1.csv", "part-2-0.csv", "part-2-1.csv"}));
    EXPECT_EQ(VisibleRows(dir.path()), covered);
    // The replay writes new files; none reuses a committed name.
    std::vector<int64_t> expected = covered;
    CollectingOutput downstream(Schema());
    for (int i = 0; i < p; ++i) {
      ASSERT_TRUE(sinks[i]->ProcessBatch(Batch(5, 5000 + 10 * i), downstream).ok());
      ASSERT_TRUE(sinks[i]->SnapshotState(5).ok());
      ASSERT_TRUE(sinks[i]->NotifyCheckpointComplete(5).ok());
      for (int64_t r = 5000 + 10 * i; r < 5000 + 10 * i + 5; ++r) expected.push_back(r);
    }
    std::vector<std::string> names = Listing(dir.path());
    for (int i = 0; i < p; ++i) {
      // Old subtasks 0..2 had next seq 2 at checkpoint 2; a new index starts at 0.
      std::string name = fmt::format("part-{}-{}.csv", i, i < 3 ? 2 : 0);
      EXPECT_TRUE(std::find(names.begin(), names.end(), name) != names.end()) << name;
    }
    EXPECT_EQ(names.size(), 6u + static_cast<size_t>(p));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(VisibleRows(dir.path()), expected);  // every row exactly once
  }
}

TEST(FileSinkRescale, RestoringAnOlderCheckpointRemovesLaterCommittedPartsOfTakenOverSubtasks) {
  TempDir dir;
  std::vector<int64_t> covered;
  std::vector<std::string> states = ThreeSubtasksCrashAfterCheckpoint2(dir.path(), &covered);
  // As if checkpoint 3 had completed for old subtask 2 before an older checkpoint is restored.
  fs::rename(dir.File(".part-2-2-a0.csv.pending"), dir.File("part-2-2.csv"));
  WriteFile(dir.File("notes.txt"), "not a part file\n");
  auto sink0 = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink0->Open(RescaleCtx(0, 2, states)).ok());  // takes over old subtask 2
  std::vector<std::string> names = Listing(dir.path());
  EXPECT_TRUE(std::find(names.begin(), names.end(), "part-2-2.csv") == names.end());
  EXPECT_TRUE(std::find(names.begin(), names.end(), "part-2-1.csv") != names.end());
  EXPECT_TRUE(std::find(names.begin(), names.end(), "part-2-0.csv") != names.end());
  EXPECT_TRUE(std::find(names.begin(), names.end(), "notes.txt") != names.end());
  // Old subtask 1 belongs to new subtask 1: its hidden files are not touched by subtask 0.
  EXPECT_TRUE(std::find(names.begin(), names.end(), ".part-1-2-a0.csv.pending") != names.end());
  auto sink1 = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink1->Open(RescaleCtx(1, 2, states)).ok());
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{"notes.txt", "part-0-0.csv", "part-0-1.csv", "part-1-0.csv",
                                      "part-1-1.csv", "part-2-0.csv", "part-2-1.csv"}));
  fs::remove(dir.File("notes.txt"));  // not CSV of this schema
  EXPECT_EQ(VisibleRows(dir.path()), covered);
}

TEST(FileSinkRescale, ScalingDownThenUpAgainNeverReusesACommittedName) {
  TempDir dir;
  std::vector<int64_t> covered;
  std::vector<std::string> s3 = ThreeSubtasksCrashAfterCheckpoint2(dir.path(), &covered);
  // p=3 -> p=1: subtask 0 takes over old subtasks 1 and 2 (next seq 2 each).
  std::vector<std::string> s1;
  {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    ASSERT_TRUE(sink->Open(RescaleCtx(0, 1, s3)).ok());
    CollectingOutput downstream(Schema());
    ASSERT_TRUE(sink->ProcessBatch(Batch(5, 7000), downstream).ok());
    absl::StatusOr<std::string> state = sink->SnapshotState(6);
    ASSERT_TRUE(state.ok());
    s1.push_back(*state);
    ASSERT_TRUE(sink->NotifyCheckpointComplete(6).ok());
    for (int64_t r = 7000; r < 7005; ++r) covered.push_back(r);
  }
  // p=1 -> p=3: subtasks 1 and 2 continue after their committed files of the p=3 run.
  std::vector<int64_t> expected = covered;
  for (int i = 0; i < 3; ++i) {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    absl::Status open = sink->Open(RescaleCtx(i, 3, s1));
    ASSERT_TRUE(open.ok()) << open;
    CollectingOutput downstream(Schema());
    ASSERT_TRUE(sink->ProcessBatch(Batch(5, 8000 + 10 * i), downstream).ok());
    ASSERT_TRUE(sink->SnapshotState(7).ok());
    ASSERT_TRUE(sink->NotifyCheckpointComplete(7).ok());
    for (int64_t r = 8000 + 10 * i; r < 8000 + 10 * i + 5; ++r) expected.push_back(r);
  }
  EXPECT_EQ(Listing(dir.path()),
            (std::vector<std::string>{"part-0-0.csv", "part-0-1.csv", "part-0-2.csv",
                                      "part-0-3.csv", "part-1-0.csv", "part-1-1.csv",
                                      "part-1-2.csv", "part-2-0.csv", "part-2-1.csv",
                                      "part-2-2.csv"}));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(VisibleRows(dir.path()), expected);
}

TEST(FileSinkRescale, MissingOldStateIsRefusedAndAllEmptyIsAFreshStart) {
  TempDir dir;
  std::vector<int64_t> covered;
  std::vector<std::string> states = ThreeSubtasksCrashAfterCheckpoint2(dir.path(), &covered);
  api::OperatorContext ctx = RescaleCtx(0, 2, {states[0], states[1]});
  ctx.restored_parallelism = 3;
  absl::Status s = MakeFileSink({.path = dir.path(), .schema = Schema()})->Open(ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("rescaling restore from parallelism 3 got 2 states"));
  // Nothing was committed or deleted by the refused restore.
  EXPECT_EQ(Listing(dir.path()).size(), 12u);
  auto fresh = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(fresh->Open(RescaleCtx(0, 1, {std::string(), std::string()})).ok());
  EXPECT_TRUE(Listing(dir.path()).empty());  // a fresh start at p=1 clears all part files
}

TEST(FileSink, OutputReadsBackThroughTheCsvSource) {
  TempDir dir;
  const int kRows = 60000;  // > 1 MiB of text: exercises the buffered write path
  for (int i = 0; i < 2; ++i) {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    ASSERT_TRUE(sink->Open(Ctx(i, 2)).ok());
    CollectingOutput downstream(Schema());
    for (int b = 0; b < kRows / 1000; ++b) {
      ASSERT_TRUE(sink->ProcessBatch(Batch(1000, i * kRows + b * 1000), downstream).ok());
    }
    ASSERT_TRUE(sink->Finish(downstream).ok());
    sink->Close();
  }
  CsvSourceOptions opts;
  opts.paths = {dir.path()};
  opts.schema = Schema();
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(Ctx(0, 1)).ok());
  CollectingOutput out(Schema());
  for (;;) {
    absl::StatusOr<bool> more = source->PollNext(out);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
  }
  ASSERT_EQ(out.rows.num_rows(), static_cast<size_t>(2 * kRows));
  for (size_t r = 0; r < out.rows.num_rows(); ++r) {
    ASSERT_EQ(out.rows.GetInt64(r, 1), static_cast<int64_t>(r));
    ASSERT_EQ(out.rows.GetString(r, 0), r % 2 ? "a,b" : "plain");
  }
}

}  // namespace
}  // namespace sluice::connectors
