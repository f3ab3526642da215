#include "jobmanager/service/view_convert.h"

#include "proto/convert/deployment_convert.h"

namespace sluice::jobmanager {

void ToProto(const TaskMetrics& m, v1::TaskMetrics* out) {
  out->set_records_in(m.records_in);
  out->set_records_out(m.records_out);
  out->set_bytes_in(m.bytes_in);
  out->set_bytes_out(m.bytes_out);
  out->set_late_records_dropped(m.late_records_dropped);
  for (const auto& [k, v] : m.gauges) (*out->mutable_state())[k] = v;
  for (const auto& [k, v] : m.sink_records) (*out->mutable_sink_records())[k] = v;
  out->set_current_input_watermark(m.current_input_watermark);
  out->set_current_output_watermark(m.current_output_watermark);
  out->set_busy_time_ms(m.busy_time_ms);
  out->set_idle_time_ms(m.idle_time_ms);
  out->set_backpressured_time_ms(m.backpressured_time_ms);
  v1::MetricRates* r = out->mutable_rates();
  r->set_records_in(m.rates.records_in);
  r->set_records_out(m.rates.records_out);
  r->set_bytes_in(m.rates.bytes_in);
  r->set_bytes_out(m.rates.bytes_out);
  r->set_busy_ms(m.rates.busy_ms);
  r->set_idle_ms(m.rates.idle_ms);
  r->set_backpressured_ms(m.rates.backpressured_ms);
}

TaskMetrics FromProto(const v1::TaskMetrics& m) {
  TaskMetrics out;
  out.records_in = m.records_in();
  out.records_out = m.records_out();
  out.bytes_in = m.bytes_in();
  out.bytes_out = m.bytes_out();
  out.late_records_dropped = m.late_records_dropped();
  for (const auto& [k, v] : m.state()) out.gauges[k] = v;
  for (const auto& [k, v] : m.sink_records()) out.sink_records[k] = v;
  out.current_input_watermark = m.current_input_watermark();
  out.current_output_watermark = m.current_output_watermark();
  out.busy_time_ms = m.busy_time_ms();
  out.idle_time_ms = m.idle_time_ms();
  out.backpressured_time_ms = m.backpressured_time_ms();
  return out;  // rates are the JobMaster's to derive
}

void ToProto(const JobSummaryView& s, v1::JobSummary* out) {
  out->set_job_id(s.id.ToString());
  out->set_name(s.name);
  out->set_state(std::string(graph::Name(s.state)));
  out->set_start_time_ms(s.start_ms);
  out->set_end_time_ms(s.end_ms);
  out->set_failure_cause(s.failure_cause);
  out->set_status_message(s.status_message);
  for (int i = 0; i < graph::kNumJobStatus; ++i) {
    (*out->mutable_state_timestamps())[std::string(graph::Name(static_cast<graph::JobStatus>(i)))] =
        s.state_timestamps[static_cast<size_t>(i)];
  }
  for (const auto& [k, v] : s.metrics) (*out->mutable_metrics())[k] = v;
  for (int i = 0; i < graph::kNumExecutionState; ++i) {
    (*out->mutable_task_counts())[std::string(graph::Name(static_cast<graph::ExecutionState>(i)))] =
        s.task_counts[static_cast<size_t>(i)];
  }
}

void ToProto(const JobDetailsView& d, v1::GetJobResponse* out) {
  ToProto(d.summary, out->mutable_job());
  rpc::ToProto(d.submission, out->mutable_submission());
  for (const auto& v : d.vertices) {
    auto* vi = out->add_vertices();
    vi->set_id(v.id);
    vi->set_name(v.name);
    vi->set_parallelism(v.parallelism);
    vi->set_max_parallelism(v.max_parallelism);
    vi->set_state(std::string(graph::Name(v.state)));
    for (const auto& op : v.operators) vi->add_operators(op);
    for (const auto& uid : v.uids) vi->add_uids(uid);
    for (const auto& in : v.inputs) {
      auto* i = vi->add_inputs();
      i->set_source_vertex_id(in.source_vertex_id);
      i->set_ship_strategy(std::string(graph::Name(in.ship_strategy)));
      i->set_input(in.logical_input);
      i->set_side_output(in.side_output);
    }
    for (const auto& s : v.subtasks) {
      auto* si = vi->add_subtasks();
      si->set_subtask(s.subtask);
      si->set_state(std::string(graph::Name(s.state)));
      si->set_attempt(s.attempt);
      si->set_taskmanager_id(s.taskmanager_id);
      si->set_location(s.location);
      ToProto(s.metrics, si->mutable_metrics());
      si->set_failure(s.failure);
      si->set_start_time_ms(s.start_ms);
      si->set_end_time_ms(s.end_ms);
      for (int st = 0; st < graph::kNumExecutionState; ++st) {
        const int64_t ms = s.state_ms[static_cast<size_t>(st)];
        if (ms > 0) {
          (*si->mutable_state_timestamps())[std::string(
              graph::Name(static_cast<graph::ExecutionState>(st)))] = ms;
        }
      }
    }
  }
}

v1::ListTaskManagersResponse ToProto(const std::vector<TaskManagerInfo>& tms) {
  v1::ListTaskManagersResponse r;
  for (const auto& tm : tms) {
    auto* t = r.add_taskmanagers();
    t->set_resource_id(tm.resource_id);
    t->set_address(tm.address);
    t->set_slots_total(tm.slots);
    t->set_slots_free(tm.free_slots);
    t->set_last_heartbeat_ms(tm.last_heartbeat_ms);
    t->set_cpu_cores(tm.cpu_cores);
    t->set_physical_memory_bytes(tm.memory_bytes);
    t->set_metrics_port(tm.metrics_port);
    t->set_registered_ms(tm.registered_ms);
    for (const auto& job : tm.allocated_jobs) t->add_allocated_jobs(job);
    v1::ProcessMetrics* p = t->mutable_process();
    p->set_cpu_time_ms(tm.process.cpu_time_ms);
    p->set_rss_bytes(tm.process.rss_bytes);
    p->set_threads(tm.process.threads);
    p->set_start_time_ms(tm.process.start_time_ms);
  }
  return r;
}

v1::SavepointStatus ToProto(const SavepointProgress& p) {
  v1::SavepointStatus st;
  st.set_status(std::string(Name(p.state)));
  st.set_location(p.location);
  st.set_failure(p.failure);
  st.set_checkpoint_id(p.checkpoint_id);
  st.set_elapsed_ms(p.elapsed_ms);
  st.set_phase(std::string(Name(p.phase)));
  st.set_acknowledged_subtasks(p.acknowledged_subtasks);
  st.set_total_subtasks(p.total_subtasks);
  st.set_state_size_bytes(p.state_size_bytes);
  return st;
}

}  // namespace sluice::jobmanager
