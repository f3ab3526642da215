#include "proto/convert/deployment_convert.h"

#include "fmt/format.h"
#include "runtime/base/status.h"

namespace sluice::rpc {

namespace {
void ToProto(const deployment::KeyedStateFile& f, v1::KeyedStateFile* out) {
  out->set_path(f.path);
  for (const auto& [g, off] : f.key_group_offsets) {
    auto* o = out->add_offsets();
    o->set_key_group(g);
    o->set_offset(off);
  }
}
deployment::KeyedStateFile FromProto(const v1::KeyedStateFile& f) {
  deployment::KeyedStateFile out;
  out.path = f.path();
  for (const auto& o : f.offsets()) out.key_group_offsets.emplace_back(o.key_group(), o.offset());
  return out;
}
}  // namespace

void ToProto(const job::JobSubmission& job, v1::JobSubmission* out) {
  out->set_spec_yaml(job.spec_yaml);
  out->set_spec_path(job.spec_path);
  out->set_base_dir(job.base_dir);
  out->set_parallelism(job.parallelism);
  for (const auto& [uid, p] : job.operator_parallelism) (*out->mutable_operator_parallelism())[uid] = p;
  if (!job.plugin_ref.blob_key.empty()) {
    v1::PluginRef* p = out->mutable_plugin();
    p->set_blob_key(job.plugin_ref.blob_key);
    for (const auto& a : job.plugin_ref.args) p->add_args(a);
    p->set_file_name(job.plugin_ref.file_name);
    p->set_functions_only(job.plugin_ref.functions_only);
  }
}

job::JobSubmission FromProto(const v1::JobSubmission& job) {
  job::JobSubmission out{job.spec_yaml(), job.spec_path(), job.base_dir(), job.parallelism()};
  for (const auto& [uid, p] : job.operator_parallelism()) out.operator_parallelism[uid] = p;
  if (job.has_plugin()) {
    out.plugin_ref.blob_key = job.plugin().blob_key();
    out.plugin_ref.args.assign(job.plugin().args().begin(), job.plugin().args().end());
    out.plugin_ref.file_name = job.plugin().file_name();
    out.plugin_ref.functions_only = job.plugin().functions_only();
  }
  return out;
}

void ToProto(const deployment::TaskDeploymentDescriptor& tdd, v1::SubmitTaskRequest* out) {
  out->set_job_id(tdd.job_id.ToString());
  out->set_attempt_id(tdd.attempt_id.ToString());
  ToProto(tdd.job, out->mutable_job());
  out->set_vertex_index(tdd.vertex);
  out->set_subtask_index(tdd.subtask);
  out->set_attempt_number(tdd.attempt_number);
  for (const auto& edge : tdd.outputs) {
    auto* o = out->add_outputs();
    for (const auto& c : edge) {
      auto* loc = o->add_consumers();
      loc->set_subtask(c.subtask);
      loc->set_attempt_id(c.attempt_id.ToString());
      loc->set_address(c.address);
    }
  }
  out->set_jobmanager_id(tdd.jobmanager_id);
  out->set_buffer_timeout_ms(tdd.buffer_timeout_ms);
  out->set_checkpoint_dir(tdd.checkpoint_dir);
  out->set_restored_checkpoint_id(tdd.restored_checkpoint_id);
  out->set_restored_from_own_checkpoint(tdd.restored_from_own_checkpoint);
  for (const auto& r : tdd.restored) {
    auto* p = out->add_restored();
    p->set_operator_uid(r.operator_uid);
    if (r.operator_state) {
      p->set_has_operator_state(true);
      p->set_operator_state(*r.operator_state);
    }
    for (const auto& f : r.keyed_state) ToProto(f, p->add_keyed_state());
    for (const auto& u : r.union_states) p->add_union_states(u);
    p->set_restored_parallelism(r.restored_parallelism);
    for (const auto& inc : r.incremental_state) {
      auto* i = p->add_incremental_state();
      i->set_key_group_start(inc.key_group_start);
      i->set_key_group_end(inc.key_group_end);
      for (const auto& f : inc.files) {
        auto* o = i->add_files();
        o->set_name(f.name);
        o->set_path(f.path);
        o->set_relative_path(f.relative_path);
        o->set_size(f.size);
        o->set_uploaded_by(f.uploaded_by);
        o->set_shared(f.shared);
      }
      ToProto(inc.meta, i->mutable_meta());
    }
  }
}

absl::StatusOr<deployment::TaskDeploymentDescriptor> FromProto(const v1::SubmitTaskRequest& req) {
  deployment::TaskDeploymentDescriptor tdd;
  auto job_id = JobId::Parse(req.job_id());
  if (!job_id.ok()) return InvalidArgumentF("SubmitTask: malformed job_id '{}'", req.job_id());
  auto attempt = ExecutionAttemptId::Parse(req.attempt_id());
  if (!attempt.ok()) return InvalidArgumentF("SubmitTask: malformed attempt_id '{}'", req.attempt_id());
  tdd.job_id = *job_id;
  tdd.attempt_id = *attempt;
  tdd.job = FromProto(req.job());
  tdd.vertex = req.vertex_index();
  tdd.subtask = req.subtask_index();
  tdd.attempt_number = req.attempt_number();
  for (int e = 0; e < req.outputs_size(); ++e) {
    std::vector<deployment::ConsumerLocation> consumers;
    for (const auto& c : req.outputs(e).consumers()) {
      auto id = ExecutionAttemptId::Parse(c.attempt_id());
      if (!id.ok()) {
        return InvalidArgumentF("SubmitTask: output {} consumer {}: malformed attempt_id '{}'", e,
                                c.subtask(), c.attempt_id());
      }
      consumers.push_back({c.subtask(), *id, c.address()});
    }
    tdd.outputs.push_back(std::move(consumers));
  }
  tdd.jobmanager_id = req.jobmanager_id();
  tdd.buffer_timeout_ms = req.buffer_timeout_ms();
  tdd.checkpoint_dir = req.checkpoint_dir();
  tdd.restored_checkpoint_id = req.restored_checkpoint_id();
  tdd.restored_from_own_checkpoint = req.restored_from_own_checkpoint();
  for (const auto& p : req.restored()) {
    deployment::RestoredOperatorState r;
    r.operator_uid = p.operator_uid();
    if (p.has_operator_state()) r.operator_state = p.operator_state();
    for (const auto& f : p.keyed_state()) r.keyed_state.push_back(FromProto(f));
    for (const auto& u : p.union_states()) r.union_states.push_back(u);
    r.restored_parallelism = p.restored_parallelism();
    for (const auto& i : p.incremental_state()) {
      deployment::IncrementalKeyedState inc;
      inc.key_group_start = i.key_group_start();
      inc.key_group_end = i.key_group_end();
      for (const auto& f : i.files()) {
        inc.files.push_back({f.name(), f.path(), f.relative_path(), f.size(), f.uploaded_by(), f.shared()});
      }
      inc.meta = FromProto(i.meta());
      r.incremental_state.push_back(std::move(inc));
    }
    tdd.restored.push_back(std::move(r));
  }
  return tdd;
}

}  // namespace sluice::rpc
