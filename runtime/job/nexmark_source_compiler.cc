// `source: {type: nexmark}`: the Nexmark benchmark's events (runtime/connectors/nexmark); the
// keys are documented in docs/job-spec.md.
#include "runtime/base/status.h"
#include "runtime/connectors/nexmark/nexmark_source.h"
#include "runtime/job/node_compilers.h"

namespace sluice::job {

namespace nx = connectors::nexmark;

absl::Status CompileNexmarkSource(const SpecReader& r, const NodeDefaults& d,
                                  const YAML::Node& node, graph::StreamNode* v) {
  const char* what = "source";
  std::set<std::string> allowed = {"name", "uid", "type", "table", "events", "events-per-second",
                                   "first-event-rate", "base-time", "seed", "batch-size",
                                   "max-out-of-orderness", "parallelism"};
  allowed.insert(d.extra_keys.begin(), d.extra_keys.end());
  RETURN_IF_ERROR(r.CheckKeys(node, what, allowed));
  ASSIGN_OR_RETURN(std::string name,
                   r.GetString(node, what, "name", false, d.name.empty() ? "nexmark" : d.name));
  ASSIGN_OR_RETURN(std::string uid, r.GetString(node, what, "uid", false, d.uid));
  nx::NexmarkSourceOptions opts;
  ASSIGN_OR_RETURN(std::string table, r.GetString(node, what, "table", false, "events"));
  std::optional<nx::NexmarkTable> t = nx::ParseNexmarkTable(table);
  if (!t) {
    return r.Error(node["table"],
                   "source: unknown nexmark table '{}' (expected: events, person, auction, bid)",
                   table);
  }
  opts.table = *t;
  if (node["events"]) {
    ASSIGN_OR_RETURN(opts.config.max_events, r.GetInt64(node, what, "events"));
    if (opts.config.max_events < 0) {
      return r.Error(node["events"], "source: 'events' must be >= 0 (0 = unbounded), found {}",
                     opts.config.max_events);
    }
  }
  if (YAML::Node rate = node["events-per-second"]) {
    double eps;
    if (!rate.IsScalar() || !YAML::convert<double>::decode(rate, eps) || !(eps >= 0) ||
        eps > 1e12) {
      return r.Error(rate,
                     "source: 'events-per-second' must be a number of events per second over "
                     "all subtasks (0 = unlimited), found '{}'",
                     rate.IsScalar() ? rate.Scalar() : "a collection");
    }
    opts.events_per_second = eps;
  }
  if (node["first-event-rate"]) {
    ASSIGN_OR_RETURN(opts.config.first_event_rate, r.GetInt64(node, what, "first-event-rate"));
  }
  if (node["base-time"]) {
    ASSIGN_OR_RETURN(opts.config.base_time_ms,
                     r.GetInt64(node, what, "base-time", core::Type::kTimestamp));
  }
  if (node["seed"]) {
    ASSIGN_OR_RETURN(int64_t seed, r.GetInt64(node, what, "seed"));
    opts.config.seed = static_cast<uint64_t>(seed);
  }
  ASSIGN_OR_RETURN(int batch, r.GetInt(node, what, "batch-size", 1024));
  if (batch < 1) return r.Error(node["batch-size"], "source: 'batch-size' must be at least 1");
  opts.batch_size = static_cast<size_t>(batch);
  if (node["max-out-of-orderness"]) {
    ASSIGN_OR_RETURN(opts.max_out_of_orderness_ms,
                     r.GetDuration(node, what, "max-out-of-orderness"));
  }
  ASSIGN_OR_RETURN(v->parallelism,
                   r.OperatorParallelism(node, what, v->parallelism, v->max_parallelism));
  // Everything above was checked with its location; this catches the generator's bounds.
  if (absl::Status s = nx::ValidateNexmarkSourceOptions(opts); !s.ok()) {
    return r.Error(node, "{}", std::string_view(s.message().data(), s.message().size()));
  }
  v->name = "Source: " + name;
  v->uid = uid;
  v->output_schema = nx::NexmarkSchema(opts.table);
  v->source = [opts]() -> absl::StatusOr<std::unique_ptr<api::Source>> {
    return nx::MakeNexmarkSource(opts);
  };
  return absl::OkStatus();
}

}  // namespace sluice::job
