#include "runtime/operators/idle_source.h"

#include <utility>

#include "runtime/base/status.h"

namespace sluice::operators {
namespace {

class IdleAwareSource final : public api::Source, private api::Output {
 public:
  IdleAwareSource(std::unique_ptr<api::Source> inner, int64_t timeout_ms, const Clock* clock)
      : inner_(std::move(inner)), timeout_ms_(timeout_ms), clock_(clock) {}

  core::SchemaPtr output_schema() const override { return inner_->output_schema(); }
  absl::Status Open(const api::OperatorContext& ctx) override {
    last_active_ms_ = clock_->NowMillis();
    return inner_->Open(ctx);
  }
  absl::StatusOr<bool> PollNext(api::Output& out) override {
    out_ = &out;
    absl::StatusOr<bool> more = inner_->PollNext(*this);
    out_ = nullptr;
    if (!more.ok() || !*more) return more;
    if (!idle_ && clock_->NowMillis() - last_active_ms_ >= timeout_ms_) {
      idle_ = true;
      RETURN_IF_ERROR(out.EmitWatermarkStatus(api::WatermarkStatus::kIdle));
    }
    return more;
  }
  void Close() override { inner_->Close(); }
  std::map<std::string, int64_t> Gauges() const override { return inner_->Gauges(); }
  absl::StatusOr<std::string> SnapshotState(int64_t id) override {
    return inner_->SnapshotState(id);
  }
  absl::Status NotifyCheckpointComplete(int64_t id) override {
    return inner_->NotifyCheckpointComplete(id);
  }
  absl::Status HandleOperatorEvent(std::string_view event) override {
    return inner_->HandleOperatorEvent(event);
  }

 private:
  // api::Output: what the wrapped source emits during PollNext.
  absl::Status Emit(const core::RecordBatch& batch) override {
    if (!batch.empty()) {
      last_active_ms_ = clock_->NowMillis();
      RETURN_IF_ERROR(BecomeActive());
    }
    return out_->Emit(batch);
  }
  absl::Status EmitWatermark(int64_t watermark) override {
    if (watermark == api::kMaxWatermark) RETURN_IF_ERROR(BecomeActive());
    if (idle_) return absl::OkStatus();
    return out_->EmitWatermark(watermark);
  }
  absl::Status EmitSideOutput(int side, const core::RecordBatch& batch) override {
    return out_->EmitSideOutput(side, batch);
  }
  absl::Status EmitWatermarkStatus(api::WatermarkStatus status) override {
    return out_->EmitWatermarkStatus(status);
  }
  absl::Status BecomeActive() {
    if (!idle_) return absl::OkStatus();
    idle_ = false;
    return out_->EmitWatermarkStatus(api::WatermarkStatus::kActive);
  }

  std::unique_ptr<api::Source> inner_;
  const int64_t timeout_ms_;
  const Clock* clock_;
  api::Output* out_ = nullptr;  // during PollNext
  int64_t last_active_ms_ = 0;
  bool idle_ = false;
};

}  // namespace

std::unique_ptr<api::Source> WithIdleness(std::unique_ptr<api::Source> source,
                                          int64_t idle_timeout_ms, const Clock* clock) {
  return std::make_unique<IdleAwareSource>(std::move(source), idle_timeout_ms, clock);
}

}  // namespace sluice::operators
