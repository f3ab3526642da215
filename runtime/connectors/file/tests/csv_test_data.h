#pragma once
// Data the CSV source tests share (csv_source_test.cc, csv_source_checkpoint_test.cc): the
// flight and all-types schemas, source options, gzip files and generated flight rows; and
// the checkpointing helpers (a subtask's context, reading to the end, reading with a restore).

#include <zlib.h>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/connectors/file/csv_source.h"
#include "runtime/connectors/file/tests/test_util.h"
#include "runtime/core/time_format.h"

namespace sluice::connectors::testing {

inline core::SchemaPtr FlightSchema() {
  return std::make_shared<core::Schema>(
      std::vector<core::Field>{{"date", core::Type::kTimestamp},
                               {"delay", core::Type::kInt64},
                               {"distance", core::Type::kInt64},
                               {"origin", core::Type::kString},
                               {"destination", core::Type::kString}});
}

inline core::SchemaPtr AllTypesSchema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"s", core::Type::kString},
                                                                 {"i", core::Type::kInt64},
                                                                 {"d", core::Type::kDouble},
                                                                 {"b", core::Type::kBool},
                                                                 {"t", core::Type::kTimestamp}});
}

inline CsvSourceOptions Options(std::vector<std::string> paths, core::SchemaPtr schema) {
  CsvSourceOptions o;
  o.paths = std::move(paths);
  o.schema = std::move(schema);
  return o;
}

inline void WriteGz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

// A file of `n` flight rows with varied line lengths (some quoted), plus the expected rows.
inline std::string GenerateFlights(int n, std::vector<std::string>* expected) {
  std::mt19937 rng(42);
  std::string text = "date,delay,distance,origin,destination\n";
  for (int i = 0; i < n; ++i) {
    std::string origin(1 + rng() % 12, static_cast<char>('A' + i % 26));
    bool quoted = i % 7 == 0;
    std::string ts = core::FormatTimestamp(978307200000LL + i * 60000LL);
    std::string line =
        fmt::format("{},{},{},{}{}{},D{}", ts, static_cast<int>(rng() % 200) - 50, i,
                    quoted ? "\"" : "", quoted ? origin + ",x" : origin, quoted ? "\"" : "", i);
    text += line + (i % 3 == 0 ? "\r\n" : "\n");
    expected->push_back(line);
  }
  return text;
}

// --- Checkpointing helpers --------------------------------------------------------------------

inline api::OperatorContext SubtaskCtx(int index, int parallelism,
                                       std::optional<std::string> restored = std::nullopt) {
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  ctx.restored_state = std::move(restored);
  return ctx;
}

// Polls `source` until it ends, collecting into `out`.
inline void Drain(api::Source& source, CollectingOutput* out) {
  for (int polls = 0; polls < 1'000'000; ++polls) {
    absl::StatusOr<bool> more = source.PollNext(*out);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) return;
  }
  FAIL() << "source never ended";
}

// For subtask `index` of `parallelism`: polls `polls` times, snapshots, polls a few more times
// (progress after the checkpoint, lost in the "crash"), then restores a new source from the
// snapshot and reads to the end. Returns the rows before the snapshot followed by the rows
// after the restore; they must equal one uninterrupted run.
inline std::vector<std::string> ReadWithRestore(const CsvSourceOptions& opts, int index, int parallelism,
                                         int polls) {
  std::vector<std::string> lines;
  std::string state;
  {
    auto source = MakeCsvFileSource(opts);
    EXPECT_TRUE(source->Open(SubtaskCtx(index, parallelism)).ok());
    CollectingOutput before(opts.schema);
    for (int k = 0; k < polls; ++k) {
      absl::StatusOr<bool> more = source->PollNext(before);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
    }
    absl::StatusOr<std::string> snapshot = source->SnapshotState(1);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    state = *snapshot;
    lines = before.lines;
    CollectingOutput lost(opts.schema);
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(source->PollNext(lost).ok());
  }
  auto restored = MakeCsvFileSource(opts);
  absl::Status open = restored->Open(SubtaskCtx(index, parallelism, state));
  EXPECT_TRUE(open.ok()) << open;
  CollectingOutput after(opts.schema);
  Drain(*restored, &after);
  EXPECT_FALSE(after.watermarks.empty());
  if (!after.watermarks.empty()) {
    EXPECT_EQ(after.watermarks.back(), api::kMaxWatermark);
  }
  lines.insert(lines.end(), after.lines.begin(), after.lines.end());
  return lines;
}

}  // namespace sluice::connectors::testing
