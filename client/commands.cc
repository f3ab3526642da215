#include "client/commands.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace sluice::client {

std::string TextTable::Render(std::string_view indent) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line(indent);
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out += line;
    out += '\n';
  }
  return out;
}

std::string FormatDuration(int64_t ms) {
  if (ms < 0) return "-";
  if (ms < 60'000) return fmt::format("{:.2f} s", ms / 1000.0);
  int64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
}

std::string FormatTimestamp(int64_t epoch_ms) {
  if (epoch_ms <= 0) return "-";
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

bool IsTerminalJobState(std::string_view state) {
  return state == "FINISHED" || state == "CANCELED" || state == "FAILED";
}

namespace {

int64_t JobDuration(const v1::JobSummary& job, int64_t now_ms) {
  if (job.start_time_ms() <= 0) return -1;
  return (job.end_time_ms() > 0 ? job.end_time_ms() : now_ms) - job.start_time_ms();
}

}  // namespace

std::string FormatJobsTable(const v1::ListJobsResponse& jobs, int64_t now_ms) {
  if (jobs.jobs_size() == 0) return "No jobs.\n";
  TextTable table;
  table.AddRow({"JOB ID", "NAME", "STATE", "START TIME (UTC)", "DURATION"});
  for (const auto& job : jobs.jobs()) {
    table.AddRow({job.job_id(), job.name(), job.state(), FormatTimestamp(job.start_time_ms()),
                  FormatDuration(JobDuration(job, now_ms))});
  }
  return table.Render();
}

std::string FormatJobStatus(const v1::GetJobResponse& response, int64_t now_ms) {
  const v1::JobSummary& job = response.job();
  std::string out = fmt::format("Job {} ({}): {}\n", job.name(), job.job_id(), job.state());
  out += fmt::format("  Started:  {} UTC\n", FormatTimestamp(job.start_time_ms()));
  if (job.end_time_ms() > 0) {
    out += fmt::format("  Ended:    {} UTC\n", FormatTimestamp(job.end_time_ms()));
  }
  out += fmt::format("  Duration: {}\n", FormatDuration(JobDuration(job, now_ms)));
  if (!job.status_message().empty()) out += fmt::format("  Status:   {}\n", job.status_message());
  if (!job.failure_cause().empty()) {
    out += fmt::format("  Failure cause: {}\n", job.failure_cause());
  }
  std::map<std::string, int> vertex_number;  // vertex id -> 1-based position
  for (const auto& v : response.vertices()) vertex_number[v.id()] = static_cast<int>(vertex_number.size()) + 1;
  for (const auto& v : response.vertices()) {
    out += fmt::format("\n[{}] {} (parallelism {}): {}\n", vertex_number[v.id()], v.name(),
                       v.parallelism(), v.state());
    // The chained operators with their uids, and where the inputs come from.
    std::string operators;
    for (int i = 0; i < v.operators_size(); ++i) {
      operators += fmt::format("{}{} [uid {}]", i ? ", " : "", v.operators(i),
                               i < v.uids_size() ? v.uids(i) : "?");
    }
    if (!operators.empty()) out += fmt::format("  operators: {}\n", operators);
    for (const auto& in : v.inputs()) {
      auto it = vertex_number.find(in.source_vertex_id());
      out += fmt::format("  input {}: from [{}]{} via {}\n", in.input() + 1,
                         it == vertex_number.end() ? 0 : it->second,
                         in.side_output() > 0 ? fmt::format(" side output {}", in.side_output()) : "",
                         in.ship_strategy());
    }
    TextTable table;
    table.AddRow({"SUBTASK", "STATE", "ATTEMPT", "LOCATION", "RECORDS IN", "RECORDS OUT"});
    for (const auto& s : v.subtasks()) {
      table.AddRow({fmt::format("{}/{}", s.subtask() + 1, v.parallelism()), s.state(),
                    std::to_string(s.attempt()), s.location().empty() ? "-" : s.location(),
                    std::to_string(s.metrics().records_in()),
                    std::to_string(s.metrics().records_out())});
    }
    out += table.Render("  ");
    int64_t late = 0;
    for (const auto& s : v.subtasks()) late += s.metrics().late_records_dropped();
    if (late > 0) out += fmt::format("  late records dropped: {} (numLateRecordsDropped)\n", late);
    for (const auto& s : v.subtasks()) {
      if (!s.failure().empty()) {
        out += fmt::format("  subtask {}/{} failed: {}\n", s.subtask() + 1, v.parallelism(),
                           s.failure());
      }
    }
  }
  return out;
}

std::string FormatTaskManagers(const v1::ListTaskManagersResponse& tms, int64_t now_ms) {
  if (tms.taskmanagers_size() == 0) return "No TaskManagers registered.\n";
  TextTable table;
  table.AddRow({"ID", "ADDRESS", "SLOTS FREE/TOTAL", "LAST HEARTBEAT"});
  for (const auto& tm : tms.taskmanagers()) {
    std::string age =
        tm.last_heartbeat_ms() > 0
            ? FormatDuration(std::max<int64_t>(0, now_ms - tm.last_heartbeat_ms())) + " ago"
            : "never";
    table.AddRow({tm.resource_id(), tm.address(),
                  fmt::format("{}/{}", tm.slots_free(), tm.slots_total()), age});
  }
  return table.Render();
}

std::string FormatCheckpoints(const std::string& stats_json) {
  nlohmann::json j = nlohmann::json::parse(stats_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return "malformed checkpoint statistics from the JobManager\n";
  auto num = [](const nlohmann::json& v) -> int64_t { return v.is_number() ? v.get<int64_t>() : 0; };
  const auto& c = j["counts"];
  std::string out = fmt::format(
      "Checkpoints: {} completed, {} failed, {} in progress, {} restored, {} total\n",
      num(c["completed"]), num(c["failed"]), num(c["in_progress"]), num(c["restored"]),
      num(c["total"]));
  const auto& latest = j["latest"];
  if (latest.is_object()) {
    if (latest["completed"].is_object()) {
      const auto& l = latest["completed"];
      out += fmt::format("Latest completed: {} ({} bytes, {} ms){}\n", num(l["id"]),
                         num(l["state_size"]), num(l["end_to_end_duration"]),
                         l["external_path"].is_string()
                             ? " at " + l["external_path"].get<std::string>()
                             : "");
    }
    if (latest["failed"].is_object()) {
      const auto& l = latest["failed"];
      out += fmt::format("Latest failed: {}: {}\n", num(l["id"]),
                         l["failure_message"].is_string() ? l["failure_message"].get<std::string>()
                                                          : "");
    }
    if (latest["restored"].is_object()) {
      out += fmt::format("Restored from: {}\n", num(latest["restored"]["id"]));
    }
  }
  if (!j["history"].is_array() || j["history"].empty()) return out + "No checkpoints yet.\n";
  TextTable table;
  table.AddRow({"ID", "STATUS", "TRIGGERED", "DURATION", "SIZE", "ALIGNMENT", "ACKED"});
  for (const auto& h : j["history"]) {
    table.AddRow({std::to_string(num(h["id"])), h["status"].is_string() ? h["status"].get<std::string>() : "?",
                  FormatTimestamp(num(h["trigger_timestamp"])),
                  FormatDuration(num(h["end_to_end_duration"])),
                  fmt::format("{} B", num(h["state_size"])),
                  fmt::format("{} ms", num(h["alignment_duration"])),
                  fmt::format("{}/{}", num(h["num_acknowledged_subtasks"]), num(h["num_subtasks"]))});
  }
  return out + table.Render();
}

std::string FormatJobSummary(const v1::GetJobResponse& response, int64_t wall_ms) {
  const v1::JobSummary& job = response.job();
  std::string out = fmt::format("Job {} ({}) {} in {}", job.name(), job.job_id(), job.state(),
                                FormatDuration(wall_ms));
  // Rows written per sink, summed over subtasks, in the order the vertices list them and by
  // name within a vertex (a protobuf map iterates in no fixed order).
  std::vector<std::pair<std::string, int64_t>> sinks;
  for (const auto& v : response.vertices()) {
    for (const auto& s : v.subtasks()) {
      const std::map<std::string, int64_t> by_name(s.metrics().sink_records().begin(),
                                                   s.metrics().sink_records().end());
      for (const auto& [sink, records] : by_name) {
        auto it = std::find_if(sinks.begin(), sinks.end(), [&](const auto& e) { return e.first == sink; });
        if (it == sinks.end()) sinks.emplace_back(sink, records);
        else it->second += records;
      }
    }
  }
  for (const auto& [sink, records] : sinks) out += fmt::format("; {} wrote {} records", sink, records);
  out += '\n';
  if (job.state() == "FAILED" && !job.failure_cause().empty()) {
    out += fmt::format("Failure cause: {}\n", job.failure_cause());
  }
  return out;
}

}  // namespace sluice::client
