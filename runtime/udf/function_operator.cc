#include "runtime/udf/function_operator.h"

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <tuple>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/keyed_backend.h"
#include "runtime/operators/source_output.h"
#include "runtime/state/serialization.h"
#include "runtime/udf/udf_runtime.h"

namespace sluice::udf {
namespace {

using sluice::FunctionKind;

constexpr size_t kOutputBatchRows = 1024;
constexpr uint32_t kOperatorStateVersion = 1;

struct ProcessingTimer {
  int64_t time = 0;
  int32_t key_group = 0;
  std::string key;
  auto operator<=>(const ProcessingTimer&) const = default;
};

class FunctionOperator final : public api::Operator,
                               sluice::Collector,
                               sluice::Context,
                               sluice::TimerService,
                               sluice::RuntimeContext {
 public:
  FunctionOperator(FunctionOperatorSpec spec, std::vector<std::optional<core::KeySelector>> keys)
      : spec_(std::move(spec)),
        kind_(spec_.factory.kind),
        keys_(std::move(keys)),
        keyed_(keys_[0].has_value()),
        out_(spec_.output),
        writer_(&out_),
        side_writer_(&side_) {
    if (spec_.side_output) side_.set_schema(spec_.side_output);
    for (const core::SchemaPtr& in : spec_.inputs) api_inputs_.push_back(ToApiSchema(*in));
    if (keyed_) {
      key_batch_.set_schema(std::make_shared<const core::Schema>(keys_[0]->key_fields()));
    }
  }

  core::SchemaPtr output_schema() const override { return spec_.output; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(api::Operator::Open(ctx));
    if (keyed_) {
      ASSIGN_OR_RETURN(backend_, operators::KeyedBackendFor(ctx, &owned_backend_, "process function"));
      for (size_t k = 0; k < keys_.size(); ++k) {
        if (keys_[k]) tags_[k] = keys_[k]->KeyGroupTag(backend_->max_parallelism());
      }
      backend_->SetCurrentNamespace(0);
    }
    RETURN_IF_ERROR(RestoreOperatorState(ctx));
    RETURN_IF_ERROR(Call([&] { fn_ = spec_.factory.create(); }));
    if (fn_ == nullptr) {
      return InternalF("{} function '{}': the plugin's factory returned no function",
                       FunctionKindName(kind_), ctx.operator_name);
    }
    return Call([&] { fn_->Open(*this); });
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output& out) override {
    return ProcessInput(0, batch, out);
  }

  absl::Status ProcessInput(int input, const core::RecordBatch& batch, api::Output& out) override {
    if (fn_ == nullptr) [[unlikely]] return FailedPreconditionF("process function: input before Open");
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    const bool keyed_row = keyed_ && keys_[static_cast<size_t>(input)].has_value();
    const auto k = static_cast<size_t>(input);
    views_.Reset(batch);
    domain_ = sluice::TimeDomain::kEventTime;
    for (size_t row = 0; row < n; ++row) {
      if (keyed_row) {
        ASSIGN_OR_RETURN(const int32_t kg,
                         operators::KeyGroupOfRow(*keys_[k], tags_[k], *backend_, batch, row,
                                                  "process function", ctx_));
        key_.clear();
        keys_[k]->AppendKeyBytes(batch, row, &key_);
        backend_->SetCurrentKey(key_, kg);
      }
      timestamp_ = out_timestamp_ = batch.timestamp(row);
      has_key_ = keyed_row;
      RETURN_IF_ERROR(Call([&] { Dispatch(input, batch, row); }));
      if (out_.num_rows() + side_.num_rows() >= kOutputBatchRows) RETURN_IF_ERROR(Flush(out));
    }
    return Flush(out);
  }

  absl::Status ProcessWatermark(int64_t watermark, api::Output& out) override {
    watermark_ = watermark;
    if (keyed_) {
      RETURN_IF_ERROR(backend_->AdvanceWatermark(
          watermark, [&](std::string_view, int32_t, int64_t, int64_t time) -> absl::Status {
            RETURN_IF_ERROR(FireTimer(time, sluice::TimeDomain::kEventTime, time));
            if (out_.num_rows() + side_.num_rows() >= kOutputBatchRows) return Flush(out);
            return absl::OkStatus();
          }));
    }
    RETURN_IF_ERROR(Flush(out));
    return out.EmitWatermark(watermark);
  }

  std::optional<int64_t> NextProcessingTime() const override {
    if (processing_timers_.empty()) return std::nullopt;
    return processing_timers_.begin()->time;
  }

  absl::Status OnProcessingTime(int64_t now_ms, api::Output& out) override {
    while (!processing_timers_.empty() && processing_timers_.begin()->time <= now_ms) {
      ProcessingTimer t = std::move(processing_timers_.extract(processing_timers_.begin()).value());
      backend_->SetCurrentKey(t.key, t.key_group);
      RETURN_IF_ERROR(FireTimer(t.time, sluice::TimeDomain::kProcessingTime, core::kNoTimestamp));
      if (out_.num_rows() + side_.num_rows() >= kOutputBatchRows) RETURN_IF_ERROR(Flush(out));
    }
    return Flush(out);
  }

  absl::Status Finish(api::Output& out) override { return Flush(out); }

  void Close() override {
    if (fn_ != nullptr) {
      // Close errors cannot fail anything any more (the task is ending); they are dropped.
      Call([&] { fn_->Close(); }).IgnoreError();
      fn_.reset();
    }
    keyed_states_.clear();
    backend_ = nullptr;
    owned_backend_.reset();
  }

  absl::StatusOr<std::string> SnapshotState(int64_t) override {
    std::string bytes;
    state::ByteWriter w(&bytes);
    w.WriteFixed32(kOperatorStateVersion);
    w.WriteVarint64(broadcast_states_.size());
    for (const auto& [name, s] : broadcast_states_) {
      w.WriteString(name);
      w.WriteVarint64(s->entries().size());
      for (const auto& [k, v] : s->entries()) {
        w.WriteString(k);
        w.WriteString(v);
      }
    }
    w.WriteVarint64(processing_timers_.size());
    for (const ProcessingTimer& t : processing_timers_) {
      w.WriteI64(t.time);
      w.WriteI32(t.key_group);
      w.WriteString(t.key);
    }
    return bytes;
  }

 private:
  // --- sluice::Collector ---
  sluice::RowWriter& Emit() override {
    writer_.Begin(out_timestamp_);
    return writer_;
  }
  sluice::RowWriter& EmitTo(size_t tag_index) override {
    if (tag_index != 0 || spec_.side_output == nullptr) {
      throw std::out_of_range(fmt::format("EmitTo({}): the operator declares {} side output(s)",
                                          tag_index, spec_.side_output ? 1 : 0));
    }
    side_writer_.Begin(out_timestamp_);
    return side_writer_;
  }

  // --- sluice::Context ---
  int64_t Timestamp() const override { return timestamp_; }
  sluice::TimeDomain Domain() const override { return domain_; }
  sluice::TimerService& Timers() override {
    RequireKey("Timers");
    return *this;
  }
  sluice::Row CurrentKey() override {
    RequireKey("CurrentKey");
    key_batch_.Clear();
    key_batch_.AppendRow();
    keys_[0]->DecodeKeyInto(backend_->current_key(), &key_batch_, 0, 0);
    key_views_.Reset(key_batch_);
    return key_views_.RowAt(0);
  }

  // --- sluice::TimerService ---
  int64_t CurrentProcessingTime() const override { return spec_.clock->NowMillis(); }
  int64_t CurrentWatermark() const override { return watermark_; }
  void RegisterEventTimeTimer(int64_t time) override { backend_->RegisterEventTimeTimer(0, time); }
  void DeleteEventTimeTimer(int64_t time) override { backend_->DeleteEventTimeTimer(0, time); }
  void RegisterProcessingTimeTimer(int64_t time) override {
    processing_timers_.insert(ProcessingTimer{time, backend_->current_key_group(),
                                              std::string(backend_->current_key())});
  }
  void DeleteProcessingTimeTimer(int64_t time) override {
    processing_timers_.erase(ProcessingTimer{time, backend_->current_key_group(),
                                             std::string(backend_->current_key())});
  }

  // --- sluice::RuntimeContext ---
  int SubtaskIndex() const override { return ctx_.subtask_index; }
  int Parallelism() const override { return ctx_.parallelism; }
  int MaxParallelism() const override { return ctx_.max_parallelism; }
  const std::string& OperatorName() const override { return ctx_.operator_name; }
  const sluice::Schema& InputSchema(int input) const override {
    if (input < 0 || static_cast<size_t>(input) >= api_inputs_.size()) {
      throw std::out_of_range(fmt::format("InputSchema({}): the function has {} input(s)", input,
                                          api_inputs_.size()));
    }
    return api_inputs_[static_cast<size_t>(input)];
  }
  sluice::RawState* KeyedState(std::string_view name, sluice::StateKind kind) override {
    if (!keyed_) {
      throw std::logic_error(fmt::format("state '{}': keyed state needs a keyed input (KeyBy "
                                         "before the function)", name));
    }
    auto it = keyed_states_.find(name);
    if (it != keyed_states_.end()) {
      if (it->second->kind() != kind) {
        throw std::logic_error(fmt::format("state '{}' is already registered as another kind", name));
      }
      return it->second.get();
    }
    auto state = std::make_unique<KeyedRawState>(backend_, std::string(name), kind);
    return keyed_states_.emplace(std::string(name), std::move(state)).first->second.get();
  }
  sluice::RawState* BroadcastState(std::string_view name) override {
    if (kind_ != FunctionKind::kBroadcastProcess) {
      throw std::logic_error(fmt::format("broadcast state '{}': the function has no broadcast "
                                         "input (Connect a BroadcastStream)", name));
    }
    auto it = broadcast_states_.find(name);
    if (it == broadcast_states_.end()) {
      it = broadcast_states_
               .emplace(std::string(name),
                        std::make_unique<BroadcastRawState>(std::string(name), &in_broadcast_))
               .first;
    }
    return it->second.get();
  }

  void RequireKey(const char* what) const {
    if (!has_key_) {
      throw std::logic_error(fmt::format(
          "{}: only keyed functions have a current key and timers (KeyBy before the function; "
          "not in ProcessBroadcastElement)", what));
    }
  }

  void Dispatch(int input, const core::RecordBatch& batch, size_t row) {
    const sluice::Row r = views_.RowAt(row);
    switch (kind_) {
      case FunctionKind::kMap:
        writer_.Begin(out_timestamp_);
        static_cast<sluice::MapFunction*>(fn_.get())->Map(r, writer_);
        return;
      case FunctionKind::kFilter:
        if (static_cast<sluice::FilterFunction*>(fn_.get())->Filter(r)) out_.AppendRowFrom(batch, row);
        return;
      case FunctionKind::kFlatMap:
        static_cast<sluice::FlatMapFunction*>(fn_.get())->FlatMap(r, *this);
        return;
      case FunctionKind::kProcess:
        static_cast<sluice::ProcessFunction*>(fn_.get())->ProcessElement(r, *this, *this);
        return;
      case FunctionKind::kCoProcess: {
        auto* f = static_cast<sluice::CoProcessFunction*>(fn_.get());
        if (input == 0) f->ProcessElement1(r, *this, *this);
        else f->ProcessElement2(r, *this, *this);
        return;
      }
      case FunctionKind::kBroadcastProcess: {
        auto* f = static_cast<sluice::BroadcastProcessFunction*>(fn_.get());
        if (input == 0) {
          f->ProcessElement(r, *this, *this);
          return;
        }
        struct Writable {
          bool* flag;
          explicit Writable(bool* f) : flag(f) { *flag = true; }
          ~Writable() { *flag = false; }
        } writable(&in_broadcast_);
        f->ProcessBroadcastElement(r, *this, *this);
        return;
      }
    }
  }

  absl::Status FireTimer(int64_t time, sluice::TimeDomain domain, int64_t out_timestamp) {
    timestamp_ = time;
    out_timestamp_ = out_timestamp;
    domain_ = domain;
    has_key_ = true;
    return Call([&] {
      switch (kind_) {
        case FunctionKind::kProcess:
          static_cast<sluice::ProcessFunction*>(fn_.get())->OnTimer(time, *this, *this);
          return;
        case FunctionKind::kCoProcess:
          static_cast<sluice::CoProcessFunction*>(fn_.get())->OnTimer(time, *this, *this);
          return;
        case FunctionKind::kBroadcastProcess:
          static_cast<sluice::BroadcastProcessFunction*>(fn_.get())->OnTimer(time, *this, *this);
          return;
        case FunctionKind::kMap:
        case FunctionKind::kFilter:
        case FunctionKind::kFlatMap: return;  // no timers
      }
    });
  }

  absl::Status Flush(api::Output& out) {
    if (!side_.empty()) {
      RETURN_IF_ERROR(out.EmitSideOutput(1, side_));
      side_.Clear();
    }
    return operators::EmitAndClear(&out_, out, ctx_.metrics);
  }

  template <typename F>
  absl::Status Call(F&& f) {
    try {
      f();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return InternalF("{} function '{}' threw: {}", FunctionKindName(kind_), ctx_.operator_name,
                       e.what());
    } catch (...) {
      return InternalF("{} function '{}' threw an exception not derived from std::exception",
                       FunctionKindName(kind_), ctx_.operator_name);
    }
  }

  absl::Status RestoreOperatorState(const api::OperatorContext& ctx) {
    if (ctx.restored_state.has_value()) return ReadOperatorState(*ctx.restored_state, true, true);
    bool broadcast_taken = false;
    for (const std::string& bytes : ctx.restored_union_states) {
      RETURN_IF_ERROR(ReadOperatorState(bytes, !broadcast_taken, false));
      broadcast_taken = broadcast_taken || !broadcast_states_.empty();
    }
    return absl::OkStatus();
  }

  // Reads one snapshot: its broadcast states if `broadcast`, and its processing-time timers
  // (all of them if `all_timers`, else those of this subtask's key groups).
  absl::Status ReadOperatorState(std::string_view bytes, bool broadcast, bool all_timers) {
    if (bytes.empty()) return absl::OkStatus();
    state::ByteReader r(bytes);
    uint32_t version = 0;
    RETURN_IF_ERROR(r.ReadFixed32(&version));
    if (version != kOperatorStateVersion) {
      return DataLossF("process function '{}': operator state version {} (expected {})",
                       ctx_.operator_name, version, kOperatorStateVersion);
    }
    uint64_t states = 0;
    RETURN_IF_ERROR(r.ReadVarint64(&states));
    for (uint64_t i = 0; i < states; ++i) {
      std::string name;
      uint64_t entries = 0;
      RETURN_IF_ERROR(r.ReadString(&name));
      RETURN_IF_ERROR(r.ReadVarint64(&entries));
      BroadcastRawState* s = nullptr;
      if (broadcast) s = static_cast<BroadcastRawState*>(BroadcastStateOrNull(name));
      for (uint64_t e = 0; e < entries; ++e) {
        std::string k, v;
        RETURN_IF_ERROR(r.ReadString(&k));
        RETURN_IF_ERROR(r.ReadString(&v));
        if (s != nullptr) s->entries().insert_or_assign(std::move(k), std::move(v));
      }
    }
    uint64_t timers = 0;
    RETURN_IF_ERROR(r.ReadVarint64(&timers));
    for (uint64_t i = 0; i < timers; ++i) {
      ProcessingTimer t;
      RETURN_IF_ERROR(r.ReadI64(&t.time));
      RETURN_IF_ERROR(r.ReadI32(&t.key_group));
      RETURN_IF_ERROR(r.ReadString(&t.key));
      if (backend_ == nullptr) continue;
      if (all_timers || backend_->key_group_range().Contains(t.key_group)) {
        processing_timers_.insert(std::move(t));
      }
    }
    return absl::OkStatus();
  }

  sluice::RawState* BroadcastStateOrNull(const std::string& name) {
    if (kind_ != FunctionKind::kBroadcastProcess) return nullptr;
    return BroadcastState(name);
  }

  const FunctionOperatorSpec spec_;
  const FunctionKind kind_;
  std::vector<std::optional<core::KeySelector>> keys_;  // per input
  const bool keyed_;
  uint64_t tags_[2] = {0, 0};
  std::vector<sluice::Schema> api_inputs_;
  std::unique_ptr<sluice::Function> fn_;
  std::unique_ptr<state::KeyedStateBackend> owned_backend_;
  state::KeyedStateBackend* backend_ = nullptr;
  std::string key_;
  ColumnViews views_;
  core::RecordBatch out_, side_;
  BatchRowWriter writer_, side_writer_;
  core::RecordBatch key_batch_;
  ColumnViews key_views_;
  int64_t timestamp_ = core::kNoTimestamp;
  int64_t out_timestamp_ = core::kNoTimestamp;
  int64_t watermark_ = api::kMinWatermark;
  sluice::TimeDomain domain_ = sluice::TimeDomain::kEventTime;
  bool has_key_ = false;
  bool in_broadcast_ = false;
  std::map<std::string, std::unique_ptr<KeyedRawState>, std::less<>> keyed_states_;
  std::map<std::string, std::unique_ptr<BroadcastRawState>, std::less<>> broadcast_states_;
  std::set<ProcessingTimer> processing_timers_;
};

int ExpectedInputs(FunctionKind kind) {
  return kind == FunctionKind::kCoProcess || kind == FunctionKind::kBroadcastProcess ? 2 : 1;
}

}  // namespace

std::string_view FunctionKindName(FunctionKind kind) {
  switch (kind) {
    case FunctionKind::kMap: return "map";
    case FunctionKind::kFilter: return "filter";
    case FunctionKind::kFlatMap: return "flat-map";
    case FunctionKind::kProcess: return "process";
    case FunctionKind::kCoProcess: return "co-process";
    case FunctionKind::kBroadcastProcess: return "broadcast-process";
  }
  return "process";
}

absl::StatusOr<std::unique_ptr<api::Operator>> MakeFunctionOperator(FunctionOperatorSpec spec) {
  const FunctionKind kind = spec.factory.kind;
  const std::string_view what = FunctionKindName(kind);
  if (!spec.factory.create) return InvalidArgumentF("{} function '{}': no factory", what, spec.function_id);
  const int inputs = ExpectedInputs(kind);
  if (static_cast<int>(spec.inputs.size()) != inputs) {
    return InvalidArgumentF("{} function '{}' reads {} input(s), the step gives {}", what,
                            spec.function_id, inputs, spec.inputs.size());
  }
  spec.keys.resize(spec.inputs.size());
  if (kind == FunctionKind::kFilter) spec.output = spec.inputs[0];
  if (spec.output == nullptr) {
    return InvalidArgumentF("{} function '{}': the output schema is missing", what, spec.function_id);
  }
  const bool keyed0 = !spec.keys[0].empty();
  if ((kind == FunctionKind::kMap || kind == FunctionKind::kFilter ||
       kind == FunctionKind::kFlatMap) && keyed0) {
    return InvalidArgumentF("{} function '{}': a {} is not keyed; use a process function after "
                            "key-by", what, spec.function_id, what);
  }
  if (kind == FunctionKind::kCoProcess && keyed0 != !spec.keys[1].empty()) {
    return InvalidArgumentF("co-process function '{}': key both inputs or neither", spec.function_id);
  }
  if (kind == FunctionKind::kBroadcastProcess && !spec.keys[1].empty()) {
    return InvalidArgumentF("broadcast-process function '{}': the broadcast input is not keyed",
                            spec.function_id);
  }
  std::vector<std::optional<core::KeySelector>> keys(spec.inputs.size());
  for (size_t k = 0; k < spec.inputs.size(); ++k) {
    if (spec.keys[k].empty()) continue;
    auto sel = core::KeySelector::Create(*spec.inputs[k], spec.keys[k]);
    if (!sel.ok()) return InvalidArgumentF("{} function '{}': input {}: {}", what, spec.function_id, k + 1, sel.status().message());
    keys[k] = std::move(*sel);
  }
  if (keys.size() == 2 && keys[0] && keys[1]) {
    std::vector<core::Field> a = keys[0]->key_fields(), b = keys[1]->key_fields();
    bool same = a.size() == b.size();
    for (size_t i = 0; same && i < a.size(); ++i) same = a[i].type == b[i].type;
    if (!same) {
      return InvalidArgumentF("co-process function '{}': the inputs' keys have different types "
                              "({} and {})", spec.function_id, core::Schema(a).ToString(),
                              core::Schema(b).ToString());
    }
  }
  return std::unique_ptr<api::Operator>(new FunctionOperator(std::move(spec), std::move(keys)));
}

}  // namespace sluice::udf
