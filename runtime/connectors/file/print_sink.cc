#include "runtime/connectors/file/print_sink.h"

#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

#include "runtime/base/status.h"
#include "runtime/core/record_batch.h"

namespace sluice::connectors {
namespace {

// Serialises all print sinks' writes of the process.
std::mutex& PrintMutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}

// See print_sink.h. Lifecycle: Open, ProcessBatch*, Finish, Close; Task thread only.
class PrintSink final : public api::Operator {
 public:
  PrintSink(core::SchemaPtr schema, bool changelog, std::ostream* out)
      : schema_(std::move(schema)), changelog_(changelog), out_(out) {}

  core::SchemaPtr output_schema() const override { return schema_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    ctx_ = ctx;
    prefix_ = ctx.parallelism > 1 ? fmt::format("{}> ", ctx.subtask_index + 1) : "";
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output&) override {
    if (batch.empty()) return absl::OkStatus();
    buf_.clear();
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      buf_.append(prefix_);
      if (changelog_) {
        buf_.append(core::ShortString(batch.row_kind(r)));
        buf_.push_back(',');
      }
      batch.AppendCsvLine(r, &buf_);
    }
    if (ctx_.metrics != nullptr) {
      ctx_.metrics->records_in.fetch_add(static_cast<int64_t>(batch.num_rows()),
                                         std::memory_order_relaxed);
      ctx_.metrics->bytes_out.fetch_add(static_cast<int64_t>(buf_.size()),
                                        std::memory_order_relaxed);
    }
    std::lock_guard<std::mutex> lock(PrintMutex());
    if (out_ == nullptr) {
      if (std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size() ||
          std::fflush(stdout) != 0) {
        return InternalF("print sink: cannot write to stdout");
      }
      return absl::OkStatus();
    }
    out_->write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    out_->flush();
    if (!*out_) return InternalF("print sink: cannot write to the output stream");
    return absl::OkStatus();
  }

  absl::Status ProcessWatermark(int64_t, api::Output&) override { return absl::OkStatus(); }

 private:
  core::SchemaPtr schema_;
  bool changelog_;
  std::ostream* out_;
  std::string prefix_;
  std::string buf_;  // reused per batch
};

class BlackholeSink final : public api::Operator {
 public:
  explicit BlackholeSink(core::SchemaPtr schema) : schema_(std::move(schema)) {}
  core::SchemaPtr output_schema() const override { return schema_; }
  absl::Status Open(const api::OperatorContext& ctx) override {
    metrics_ = ctx.metrics;
    return absl::OkStatus();
  }
  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output&) override {
    if (metrics_ != nullptr) {
      metrics_->records_in.fetch_add(static_cast<int64_t>(batch.num_rows()),
                                     std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }
  absl::Status ProcessWatermark(int64_t, api::Output&) override { return absl::OkStatus(); }

 private:
  core::SchemaPtr schema_;
  api::OperatorMetrics* metrics_ = nullptr;
};

}  // namespace

std::unique_ptr<api::Operator> MakeBlackholeSink(core::SchemaPtr schema) {
  return std::make_unique<BlackholeSink>(std::move(schema));
}

std::unique_ptr<api::Operator> MakePrintSink(core::SchemaPtr schema, bool changelog,
                                             std::ostream* out) {
  return std::make_unique<PrintSink>(std::move(schema), changelog, out);
}

}  // namespace sluice::connectors
