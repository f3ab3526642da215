#include "taskmanager/task.h"

#include <filesystem>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/core/key_groups.h"
#include "runtime/network/barrier_aligner.h"
#include "runtime/network/record_writer.h"
#include "runtime/network/watermark_valve.h"
#include "runtime/state/keyed_state_backend.h"
#include "spdlog/spdlog.h"
#include "taskmanager/operator_chain.h"

namespace sluice::taskmanager {

using graph::ExecutionState;

// Keeps the RecordWriter reachable for Cancel() from other threads.
class RecordWriterHolder {
 public:
  std::mutex mu;
  network::RecordWriter* writer = nullptr;
};

namespace {
std::string ReadFile(const std::string& path, absl::Status* status) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *status = NotFoundF("cannot open state file '{}': {}", path, std::strerror(errno));
    return {};
  }
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}
}  // namespace

Task::Task(TaskDeployment deployment, TaskEnvironment* env)
    : d_(std::move(deployment)),
      env_(env),
      vertex_(d_.graph->vertices[static_cast<size_t>(d_.vertex)]),
      writer_(std::make_unique<RecordWriterHolder>()) {
  name_ = fmt::format("{} ({}/{})#{}", vertex_.name, d_.subtask + 1, vertex_.parallelism,
                      d_.attempt_number);
  if (vertex_.is_source()) {
    gate_ = std::make_shared<network::InputGate>(0);  // mailbox only
  } else {
    const graph::JobEdge* in = d_.graph->input_edge(d_.vertex);
    int channels = d_.graph->vertices[static_cast<size_t>(in->source)].parallelism;
    gate_ = std::make_shared<network::InputGate>(channels);
    env_->RegisterInputGate(d_.attempt_id, gate_);
  }
  if (!d_.checkpoint_dir.empty()) uploader_ = std::make_unique<SerialExecutor>();
}

Task::~Task() {
  Cancel();
  if (thread_.joinable()) thread_.join();
  if (uploader_) uploader_->Shutdown();
}

void Task::Start() { thread_ = std::thread([this] { Run(); }); }

void Task::Cancel() {
  if (cancelled_.exchange(true)) return;
  gate_->Cancel();
  std::lock_guard lock(writer_->mu);
  if (writer_->writer) writer_->writer->Cancel();
}

void Task::PostControl(const std::string& kind, int64_t checkpoint_id, bool savepoint,
                       bool native) {
  network::NetworkEvent ev;
  ev.kind = network::NetworkEvent::Kind::kControl;
  ev.buffer = kind;
  ev.checkpoint_id = checkpoint_id;
  ev.savepoint = savepoint;
  ev.native = native;
  gate_->Push(-1, std::move(ev));
}

TaskMetricsSnapshot Task::Metrics() const {
  TaskMetricsSnapshot m;
  m.records_in = vertex_.is_source() ? source_metrics_.records_out.load()
                                     : task_metrics_.records_in.load();
  m.bytes_in = vertex_.is_source() ? source_metrics_.bytes_in.load() : task_metrics_.bytes_in.load();
  m.records_out = task_metrics_.records_out.load();
  m.bytes_out = task_metrics_.bytes_out.load();
  for (const auto& om : op_metrics_) m.late_records_dropped += om->late_records_dropped.load();
  {
    std::lock_guard lock(state_metrics_mu_);
    m.state = state_metrics_;
  }
  if (sink_chain_.load() && !op_metrics_.empty()) {
    // A sink chain sends nothing downstream: report the rows its sink wrote as its output.
    m.records_out = op_metrics_.back()->records_in.load();
    m.bytes_out = op_metrics_.back()->bytes_out.load();
  }
  return m;
}

void Task::MaybeUpdateStateMetrics(int64_t now_ms) {
  if (now_ms < next_state_metrics_ms_) return;
  next_state_metrics_ms_ = now_ms + 1000;
  std::map<std::string, int64_t> m;
  bool any = false;
  for (const auto& b : backends_) {
    // RocksDB's gauges are O(1); the heap's size estimate walks every entry, so it is left out.
    if (!b || b->kind() != state::BackendOptions::kRocksDb) continue;
    any = true;
    m["state.size-bytes"] += b->ApproximateSizeBytes();
    for (const auto& [k, v] : b->RocksDbProperties()) m["rocksdb." + k] += v;
  }
  if (source_ != nullptr) {
    for (auto& [k, v] : source_->Gauges()) {
      any = true;
      m[k] = v;
    }
  }
  if (!any) return;
  std::lock_guard lock(state_metrics_mu_);
  state_metrics_ = std::move(m);
}

void Task::Transition(ExecutionState to, const absl::Status& failure) {
  spdlog::info("{} ({}) switched from {} to {}.{}", name_, d_.attempt_id.ToString(),
               graph::Name(state_), graph::Name(to),
               failure.ok() ? "" : " Cause: " + std::string(failure.message()));
  state_ = to;
  env_->ReportState(d_, to, failure, Metrics());
}

void Task::Run() {
  Transition(ExecutionState::kInitializing);
  absl::Status s = Execute();
  if (!vertex_.is_source()) env_->UnregisterInputGate(d_.attempt_id);
  // Acknowledgements still being uploaded go out before the final state.
  if (uploader_) uploader_->Call([] { return 0; });
  if (s.ok()) {
    Transition(ExecutionState::kFinished);
  } else if (cancelled_.load()) {
    Transition(ExecutionState::kCanceled);
  } else {
    Transition(ExecutionState::kFailed, s);
  }
  done_ = true;
}

operators::OperatorContext Task::MakeContext(const std::string& op_name, const std::string& uid,
                                             operators::OperatorMetrics* metrics) const {
  operators::OperatorContext ctx;
  ctx.job_name = d_.graph->name;
  ctx.task_name = name_;
  ctx.operator_name = op_name;
  ctx.operator_uid = uid;
  ctx.subtask_index = d_.subtask;
  ctx.parallelism = vertex_.parallelism;
  ctx.max_parallelism = vertex_.max_parallelism;
  ctx.attempt_number = d_.attempt_number;
  ctx.metrics = metrics;
  ctx.checkpointing_enabled = !d_.checkpoint_dir.empty();
  if (auto ttl = d_.graph->settings.find("table.exec.state.ttl");
      ttl != d_.graph->settings.end()) {
    ctx.state_ttl_ms = std::stoll(ttl->second);
  }
  auto it = d_.restored.find(uid);
  if (it != d_.restored.end()) {
    ctx.restored_state = it->second.operator_state;
    ctx.restored_union_states = it->second.union_states;
    ctx.restored_parallelism = it->second.restored_parallelism;
  }
  return ctx;
}

// The job's state backend choice (Flink's state.backend / state.local-dir).
state::BackendOptions Task::BackendOptions() const {
  state::BackendOptions o;
  const auto& settings = d_.graph->settings;
  auto it = settings.find("state.backend");
  if (it != settings.end() && it->second == "rocksdb") o.kind = state::BackendOptions::kRocksDb;
  if (auto c = settings.find("state.backend.rocksdb.block.cache-size"); c != settings.end()) {
    o.block_cache_bytes = std::stoll(c->second);
  }
  if (auto w = settings.find("state.backend.rocksdb.writebuffer.size"); w != settings.end()) {
    o.write_buffer_bytes = std::stoll(w->second);
  }
  if (auto t = settings.find("state.backend.rocksdb.timer-service.factory"); t != settings.end()) {
    o.rocksdb_timers = t->second != "HEAP";
  }
  it = settings.find("state.local-dir");
  o.local_dir = it != settings.end() ? it->second
                                     : std::filesystem::temp_directory_path().string();
  return o;
}

absl::Status Task::RestoreBackend(const RestoredOperator& restored, size_t op_index) {
  state::KeyedStateBackend& backend = *backends_[op_index];
  if (!restored.incremental.empty()) {
    std::vector<state::IncrementalRestoreSource> sources = restored.incremental;
    for (size_t i = 0; i < sources.size(); ++i) {
      absl::Status rs;
      sources[i].meta = ReadFile(restored.incremental_meta_paths[i], &rs);
      RETURN_IF_ERROR(rs);
    }
    RETURN_IF_ERROR(backend.RestoreIncremental(sources));
    // A restart from this job's own checkpoint into the same key groups gets the identical
    // database: the next checkpoint uploads only what changed since.
    if (incremental_[op_index] && d_.restored_from_own_checkpoint && sources.size() == 1 &&
        sources[0].range.start == backend.key_group_range().start &&
        sources[0].range.end == backend.key_group_range().end) {
      incremental_[op_index]->Seed(restored.incremental_shared_files);
    }
  }
  if (restored.keyed_files.empty()) return absl::OkStatus();
  std::vector<std::string> files;
  std::vector<std::vector<std::pair<int32_t, uint64_t>>> offsets;
  for (const auto& f : restored.keyed_files) {
    absl::Status rs;
    files.push_back(ReadFile(f.path, &rs));
    RETURN_IF_ERROR(rs);
    offsets.push_back(f.key_group_offsets);
  }
  std::vector<std::string_view> views(files.begin(), files.end());
  return backend.Restore(views, offsets);
}

absl::Status Task::Execute() {
  // Build the chain; keyed operators get a state backend for this subtask's key groups,
  // restored from the checkpoint's files when there are any.
  std::vector<std::unique_ptr<operators::Operator>> ops;
  std::vector<operators::OperatorContext> contexts;
  const core::KeyGroupRange range = core::ComputeKeyGroupRangeForOperatorIndex(
      vertex_.max_parallelism, vertex_.parallelism, d_.subtask);
  if (auto inc = d_.graph->settings.find("state.backend.incremental");
      inc != d_.graph->settings.end()) {
    incremental_checkpoints_ = inc->second == "true";
  }
  for (const auto& op : vertex_.operators) {
    ASSIGN_OR_RETURN(auto instance, op.factory());
    ops_.push_back(instance.get());
    ops.push_back(std::move(instance));
    op_metrics_.push_back(std::make_unique<operators::OperatorMetrics>());
    contexts.push_back(MakeContext(op.name, op.uid, op_metrics_.back().get()));
    std::unique_ptr<state::KeyedStateBackend> backend;
    if (op.keyed) {
      ASSIGN_OR_RETURN(backend,
                       state::KeyedStateBackend::Create(vertex_.max_parallelism, range, BackendOptions()));
      // RocksDB backends get an uploader for native savepoints; incremental checkpoints use it
      // only with state.backend.incremental.
      if (backend->kind() == state::BackendOptions::kRocksDb && !d_.checkpoint_dir.empty()) {
        std::string prefix = fmt::format("{}-{}-{}", op.uid, d_.subtask, d_.attempt_number);
        std::replace(prefix.begin(), prefix.end(), '/', '_');
        incremental_.push_back(std::make_unique<checkpoint::IncrementalUploader>(
            checkpoint::CheckpointStorage(d_.checkpoint_dir, d_.job_id.ToString()), prefix));
      } else {
        incremental_.push_back(nullptr);
      }
      contexts.back().keyed_state = backend.get();
      backends_.push_back(std::move(backend));
      auto it = d_.restored.find(op.uid);
      if (it != d_.restored.end()) RETURN_IF_ERROR(RestoreBackend(it->second, backends_.size() - 1));
      continue;
    }
    backends_.push_back(nullptr);
    incremental_.push_back(nullptr);
  }
  std::unique_ptr<network::RecordWriter> writer;
  const graph::JobEdge* out = d_.graph->output_edge(d_.vertex);
  if (out) {
    std::vector<std::unique_ptr<network::OutputChannel>> channels;
    for (const auto& c : d_.consumers) {
      channels.push_back(env_->CreateOutputChannel(d_.job_id, c, d_.subtask));
    }
    network::RecordWriterOptions wo;
    wo.partitioner = out->partitioner;
    if (out->partitioner == graph::PartitionerKind::kHash) {
      ASSIGN_OR_RETURN(auto sel, core::KeySelector::Create(*out->schema, out->key_fields));
      wo.key_selector = std::move(sel);
    }
    wo.max_parallelism = vertex_.max_parallelism;
    wo.subtask_index = d_.subtask;
    wo.buffer_timeout_ms = d_.buffer_timeout_ms;
    writer = std::make_unique<network::RecordWriter>(out->schema, std::move(wo),
                                                     std::move(channels), &task_metrics_);
    std::lock_guard lock(writer_->mu);
    writer_->writer = writer.get();
    if (cancelled_.load()) writer->Cancel();
  } else {
    sink_chain_ = true;
  }
  OperatorChain chain(std::move(ops), writer.get());
  absl::Status s = chain.Open(contexts);
  std::unique_ptr<operators::Source> source;
  if (s.ok() && vertex_.is_source()) {
    auto created = vertex_.source();
    if (!created.ok()) {
      s = created.status();
    } else {
      source = std::move(*created);
      source_ = source.get();
      s = source->Open(MakeContext(vertex_.source_name, vertex_.source_uid, &source_metrics_));
      if (s.ok()) {
        std::lock_guard lock(event_mu_);
        event_target_ = source.get();
      }
    }
  }
  if (s.ok()) {
    Transition(ExecutionState::kRunning);
    s = source ? RunSource(*source, chain.head()) : RunInput(chain.head());
    // The final values of the gauges, also for a task that ran less than a refresh interval.
    next_state_metrics_ms_ = 0;
    MaybeUpdateStateMetrics(MonotonicMillis());
  }
  // A stop with savepoint ends the input without draining: no end-of-input flush (windows keep
  // their contents in the savepoint), and the savepoint is this task's final checkpoint.
  if (s.ok() && drain_) s = chain.Finish();
  if (!drain_ && final_checkpoint_id_ == 0) final_checkpoint_id_ = last_checkpoint_id_;
  if (s.ok() && writer) {
    s = writer->Finish(drain_);
    // Channels are closed now: a checkpoint from here on sends no barrier.
    std::lock_guard lock(writer_->mu);
    writer_->writer = nullptr;
  }
  if (s.ok() && !d_.checkpoint_dir.empty()) s = AwaitFinalCheckpoint();
  {
    std::lock_guard lock(event_mu_);
    event_target_ = nullptr;
  }
  if (source) source->Close();
  chain.Close();
  {
    std::lock_guard lock(writer_->mu);
    writer_->writer = nullptr;
  }
  if (!s.ok() && writer) writer->Cancel();
  source_ = nullptr;
  return s;
}

absl::Status Task::HandleOperatorEvent(std::string_view event) {
  std::lock_guard lock(event_mu_);
  if (event_target_ == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("{} has no open source for an operator event", name_));
  }
  return event_target_->HandleOperatorEvent(event);
}

absl::Status Task::RunSource(operators::Source& source, operators::Output& head) {
  network::RecordWriter* writer = writer_->writer;
  for (;;) {
    // Mailbox first: a checkpoint is taken between two PollNext calls.
    for (;;) {
      ASSIGN_OR_RETURN(auto ctl, gate_->Next(0));
      if (!ctl.has_value()) break;
      RETURN_IF_ERROR(HandleControl(*ctl));
    }
    if (stop_requested_) {
      drain_ = false;
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(bool more, source.PollNext(head));
    const int64_t now = MonotonicMillis();
    if (writer) RETURN_IF_ERROR(writer->FlushIfDue(now));
    MaybeUpdateStateMetrics(now);
    if (!more) return absl::OkStatus();
  }
}

absl::Status Task::RunInput(operators::Output& head) {
  network::RecordWriter* writer = writer_->writer;
  network::WatermarkValve valve(gate_->num_channels());
  network::BarrierAligner aligner(gate_->num_channels());
  core::RecordBatch batch(d_.graph->input_edge(d_.vertex)->schema);
  while (!valve.AllEnded()) {
    int64_t wait = writer ? writer->MillisUntilFlush(MonotonicMillis()) : -1;
    ASSIGN_OR_RETURN(auto next, gate_->Next(wait));
    if (next.has_value()) aligner.Offer(std::move(*next), MonotonicMillis());
    while (auto step = aligner.Next()) {
      if (step->kind == network::AlignerStep::Kind::kCheckpoint) {
        RETURN_IF_ERROR(
            PerformCheckpoint(step->checkpoint_id, step->alignment_ms, false, step->savepoint,
                              step->native));
        continue;
      }
      network::NetworkEvent& ev = step->event;
      std::optional<int64_t> advanced;
      switch (ev.kind) {
        case network::NetworkEvent::Kind::kBuffer: {
          RETURN_IF_ERROR(batch.DeserializeFrom(ev.buffer));
          task_metrics_.records_in.fetch_add(static_cast<int64_t>(batch.num_rows()),
                                             std::memory_order_relaxed);
          task_metrics_.bytes_in.fetch_add(static_cast<int64_t>(ev.buffer.size()),
                                           std::memory_order_relaxed);
          absl::Status s = head.Emit(batch);
          gate_->ReturnCredit(ev.channel);
          RETURN_IF_ERROR(s);
          break;
        }
        case network::NetworkEvent::Kind::kWatermark:
          advanced = valve.OnWatermark(ev.channel, ev.watermark);
          break;
        case network::NetworkEvent::Kind::kEndOfPartition:
          if (!ev.drain) drain_ = false;
          // Without draining, event time must not jump to the end of time.
          if (drain_) advanced = valve.OnEndOfPartition(ev.channel);
          else valve.OnEndOfPartition(ev.channel);
          break;
        case network::NetworkEvent::Kind::kControl:
          RETURN_IF_ERROR(HandleControl(ev));
          break;
        case network::NetworkEvent::Kind::kBarrier:
          break;  // consumed by the aligner
      }
      if (advanced) RETURN_IF_ERROR(head.EmitWatermark(*advanced));
    }
    const int64_t now = MonotonicMillis();
    if (writer) RETURN_IF_ERROR(writer->FlushIfDue(now));
    MaybeUpdateStateMetrics(now);
  }
  return absl::OkStatus();
}

// After end of input, a checkpointing task stays RUNNING until the final checkpoint (taken by
// every task once all have drained) completes, so two-phase-commit sinks commit everything.
absl::Status Task::AwaitFinalCheckpoint() {
  env_->ReportEndOfInput(d_, Metrics());
  if (final_checkpoint_id_ != 0 && last_completed_id_ >= final_checkpoint_id_) final_complete_ = true;
  while (!final_complete_) {
    ASSIGN_OR_RETURN(auto ev, gate_->Next(-1));
    if (ev.has_value() && ev->kind == network::NetworkEvent::Kind::kControl) {
      RETURN_IF_ERROR(HandleControl(*ev));
    }
  }
  return absl::OkStatus();
}

absl::Status Task::HandleControl(const network::NetworkEvent& ev) {
  const std::string& kind = ev.buffer;
  if (kind == "trigger") {
    return PerformCheckpoint(ev.checkpoint_id, 0, false, ev.savepoint, ev.native);
  }
  if (kind == "stop") {
    RETURN_IF_ERROR(PerformCheckpoint(ev.checkpoint_id, 0, false, /*savepoint=*/true, ev.native));
    if (source_) {
      stop_requested_ = true;
      final_checkpoint_id_ = ev.checkpoint_id;
    }
    return absl::OkStatus();
  }
  if (kind == "final") {
    final_checkpoint_id_ = ev.checkpoint_id;
    return PerformCheckpoint(ev.checkpoint_id, 0, true, ev.savepoint, ev.native);
  }
  if (kind == "complete") return NotifyComplete(ev.checkpoint_id);
  if (kind == "aborted") {
    for (auto* op : ops_) op->NotifyCheckpointAborted(ev.checkpoint_id);
    // After this checkpoint's upload (same thread): delete the shared files it uploaded.
    if (uploader_) {
      const int64_t id = ev.checkpoint_id;
      uploader_->Post([this, id] {
        for (auto& up : incremental_) {
          if (up) up->NotifyAborted(id);
        }
      });
    }
    return absl::OkStatus();
  }
  return InternalF("unknown mailbox message '{}'", kind);
}

absl::Status Task::NotifyComplete(int64_t checkpoint_id) {
  if (uploader_) {
    uploader_->Post([this, checkpoint_id] {
      for (auto& up : incremental_) {
        if (up) up->NotifyComplete(checkpoint_id);
      }
    });
  }
  if (source_) RETURN_IF_ERROR(source_->NotifyCheckpointComplete(checkpoint_id));
  for (auto* op : ops_) RETURN_IF_ERROR(op->NotifyCheckpointComplete(checkpoint_id));
  last_completed_id_ = std::max(last_completed_id_, checkpoint_id);
  if (final_checkpoint_id_ != 0 && checkpoint_id >= final_checkpoint_id_) final_complete_ = true;
  return absl::OkStatus();
}

absl::Status Task::PerformCheckpoint(int64_t checkpoint_id, int64_t alignment_ms, bool final,
                                     bool savepoint, bool native) {
  if (d_.checkpoint_dir.empty()) {
    return FailedPreconditionF("checkpoint {} triggered but the job does not checkpoint",
                               checkpoint_id);
  }
  // A drained task may be triggered directly for a checkpoint it already took through its
  // barriers; one snapshot per checkpoint.
  if (checkpoint_id <= last_checkpoint_id_) return absl::OkStatus();
  last_checkpoint_id_ = checkpoint_id;
  const int64_t t0 = MonotonicMillis();
  // Synchronous part: operator state as bytes, keyed state copied into snapshot buffers (or,
  // for incremental RocksDB checkpoints and native savepoints, a local RocksDB checkpoint of
  // hard links). Canonical savepoints always take the buffer.
  struct Pending {
    std::string uid;
    std::string operator_state;
    std::optional<state::KeyedStateSnapshot> keyed;
    std::optional<state::IncrementalSnapshot> incremental;
    size_t op_index = 0;
    bool full_upload = false;  // native savepoint: upload every SST, reuse nothing
  };
  auto pending = std::make_shared<std::vector<Pending>>();
  absl::Status failure;
  if (source_) {
    auto st = source_->SnapshotState(checkpoint_id);
    if (!st.ok()) failure = st.status();
    else pending->push_back(Pending{vertex_.source_uid, std::move(*st), std::nullopt, std::nullopt, 0, false});
  }
  for (size_t i = 0; failure.ok() && i < ops_.size(); ++i) {
    auto st = ops_[i]->SnapshotState(checkpoint_id);
    if (!st.ok()) {
      failure = st.status();
      break;
    }
    Pending p{vertex_.operators[i].uid, std::move(*st), std::nullopt, std::nullopt, i, false};
    // Native savepoints: every SST file (self-contained); incremental checkpoints: new ones.
    const bool native_rocksdb = savepoint && native && incremental_[i] != nullptr;
    if (backends_[i] && incremental_[i] &&
        ((!savepoint && incremental_checkpoints_) || native_rocksdb)) {
      auto snap = backends_[i]->SnapshotIncremental(
          fmt::format("{}.chk-{}", backends_[i]->rocksdb_dir(), checkpoint_id));
      if (!snap.ok()) {
        failure = snap.status();
        break;
      }
      p.incremental = std::move(*snap);
      p.full_upload = native_rocksdb;
    } else if (backends_[i]) {
      auto snap = backends_[i]->Snapshot();
      if (!snap.ok()) {
        failure = snap.status();
        break;
      }
      p.keyed = std::move(*snap);
    }
    pending->push_back(std::move(p));
  }
  if (!failure.ok()) {
    // Flink declines the checkpoint; the task keeps running.
    spdlog::warn("{} declines checkpoint {}: {}", name_, checkpoint_id, failure.message());
    env_->DeclineCheckpoint(d_, checkpoint_id, std::string(failure.message()));
    return absl::OkStatus();
  }
  const int64_t sync_ms = MonotonicMillis() - t0;
  // Barrier right after the synchronous part: downstream snapshots after the same records.
  if (!final) {
    std::lock_guard lock(writer_->mu);
    if (writer_->writer) {
      RETURN_IF_ERROR(writer_->writer->BroadcastBarrier(checkpoint_id, savepoint, native));
    }
  }
  // Asynchronous part: write keyed state files, then acknowledge.
  uploader_->Post([this, pending, checkpoint_id, alignment_ms, sync_ms] {
    const int64_t t1 = MonotonicMillis();
    checkpoint::CheckpointStorage storage(d_.checkpoint_dir, d_.job_id.ToString());
    checkpoint::SubtaskStateHandle handle;
    handle.vertex = d_.vertex;
    handle.subtask = d_.subtask;
    int64_t size = 0, checkpointed = 0;
    for (auto& p : *pending) {
      checkpoint::OperatorStateHandle op;
      op.operator_uid = p.uid;
      op.operator_state = std::move(p.operator_state);
      size += static_cast<int64_t>(op.operator_state.size());
      checkpointed += static_cast<int64_t>(op.operator_state.size());
      if (p.keyed) {
        std::string file = fmt::format("{}-{}-{}.kstate", p.uid, d_.subtask, d_.attempt_number);
        auto written = storage.WriteStateFile(checkpoint_id, file, p.keyed->bytes);
        if (!written.ok()) {
          env_->DeclineCheckpoint(d_, checkpoint_id, std::string(written.status().message()));
          return;
        }
        op.keyed_state_file = *written;
        op.key_group_offsets = p.keyed->key_group_offsets;
        op.keyed_state_size = static_cast<int64_t>(p.keyed->bytes.size());
        size += op.keyed_state_size;
        checkpointed += op.keyed_state_size;
      }
      if (p.incremental) {
        absl::Status up = incremental_[p.op_index]->Upload(
            checkpoint_id, *p.incremental, backends_[p.op_index]->key_group_range(), &op,
            p.full_upload);
        if (!up.ok()) {
          env_->DeclineCheckpoint(d_, checkpoint_id, std::string(up.message()));
          return;
        }
        size += op.keyed_state_size;
        checkpointed += op.incremental->checkpointed_size;
      }
      handle.operators.push_back(std::move(op));
    }
    CheckpointAck ack;
    ack.checkpoint_id = checkpoint_id;
    ack.state_handle = checkpoint::EncodeSubtaskStateHandle(handle);
    ack.state_size_bytes = size;
    ack.checkpointed_size_bytes = checkpointed;
    ack.alignment_ms = alignment_ms;
    ack.sync_ms = sync_ms;
    ack.async_ms = MonotonicMillis() - t1;
    env_->AcknowledgeCheckpoint(d_, ack);
  });
  return absl::OkStatus();
}

}  // namespace sluice::taskmanager
