#pragma once
// Helpers for the file connector tests: a per-test temporary directory and an Output that
// collects everything emitted.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/core/record_batch.h"
#include "runtime/api/operator.h"
#include "runtime/connectors/file/csv_source.h"

namespace sluice::connectors::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "sluice-file-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  ASSERT_TRUE(f.good()) << path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Records every emitted row (as CSV text and as a copy in `rows`) and watermark.
class CollectingOutput : public api::Output {
 public:
  explicit CollectingOutput(core::SchemaPtr schema) : rows(std::move(schema)) {}
  absl::Status Emit(const core::RecordBatch& batch) override {
    ++batches;
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      rows.AppendRowFrom(batch, r);
      lines.push_back(batch.RowToString(r));
    }
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t wm) override {
    watermarks.push_back(wm);
    return absl::OkStatus();
  }

  core::RecordBatch rows;
  std::vector<std::string> lines;
  std::vector<int64_t> watermarks;
  int batches = 0;
};

// Runs subtask `index` of `parallelism` to the end of its input, collecting into `out`.
inline absl::Status RunSource(const CsvSourceOptions& opts, int index, int parallelism,
                       CollectingOutput* out, api::OperatorMetrics* metrics = nullptr) {
  auto source = MakeCsvFileSource(opts);
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  ctx.metrics = metrics;
  absl::Status s = source->Open(ctx);
  if (!s.ok()) return s;
  for (int polls = 0; polls < 10'000'000; ++polls) {
    absl::StatusOr<bool> more = source->PollNext(*out);
    if (!more.ok()) {
      source->Close();
      return more.status();
    }
    if (!*more) {
      source->Close();
      return absl::OkStatus();
    }
  }
  return absl::InternalError("source never ended");
}

}  // namespace sluice::connectors::testing
