#pragma once
// Sluice C++ DataStream API: building a job (Flink's StreamExecutionEnvironment, DataStream,
// KeyedStream, WindowedStream, ConnectedStreams, BroadcastStream).
//
//   void BuildJob(sluice::StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
//     env.SetName("velocity-check");
//     auto payments = env.FromSource("payments", R"(
//       type: file
//       path: /data/payments.csv
//       schema: {card: string, amount: int64, ts: timestamp}
//       event-time: {field: ts, max-out-of-orderness: 5 s}
//     )");
//     payments.KeyBy({"card"})
//         .Window(sluice::Window::Sliding(10'000, 1'000))
//         .Aggregate({sluice::Count("attempts")})
//         .Filter([](const sluice::Row& r) { return r.GetInt64(3) > 5; })
//         .SinkTo("alerts", "type: print");
//   }
//   SLUICE_JOB(BuildJob)   // plugin.h
//
// The environment records the dataflow; StreamExecutionEnvironment::Build turns it into a
// JobDefinition: the job as a job spec (docs/job-spec.md, DAG form) whose `process` steps name
// the user functions, plus those functions' factories. The engine compiles that spec with the
// same compiler as a YAML job, so connectors (`FromSource`, `SinkTo`: a source's or sink's block
// mapping as in the spec), settings (`Configure`: top-level `checkpointing`, `state`,
// `restart-strategy`) and built-in operators behave, and are validated, exactly as in YAML.
// Errors are reported when the job is submitted, as `<plugin>:line:column: message` over the
// generated spec (`sluice run --dry-run --plugin ...` prints it).
//
// Durations are ms. Operators get names and uids like the spec's steps (`<operator>-<n>`)
// unless given with Name/Uid; set explicit uids on stateful operators so savepoints survive
// changes to the job.
//
// Thread safety: building is single-threaded; a DataStream is a handle into its environment
// and is valid while the environment lives.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/functions.h"
#include "sluice/plan.h"
#include "sluice/row.h"
#include "sluice/types.h"
#include "sluice/windows.h"

namespace sluice {

// Window assigners (Flink's TumblingEventTimeWindows, SlidingEventTimeWindows,
// EventTimeSessionWindows, Flink SQL's CUMULATE; ProcessingTime() for the processing-time ones).
struct Window {
  std::string type = "tumbling";
  int64_t size_ms = 0;
  int64_t slide_ms = 0;  // sliding: slide; cumulate: step
  int64_t gap_ms = 0;    // session
  bool processing_time = false;

  static Window Tumbling(int64_t size_ms) { return Window{"tumbling", size_ms, 0, 0, false}; }
  static Window Sliding(int64_t size_ms, int64_t slide_ms) {
    return Window{"sliding", size_ms, slide_ms, 0, false};
  }
  static Window Session(int64_t gap_ms) { return Window{"session", 0, 0, gap_ms, false}; }
  static Window Cumulate(int64_t max_size_ms, int64_t step_ms) {
    return Window{"cumulate", max_size_ms, step_ms, 0, false};
  }
  Window ProcessingTime() const {
    Window w = *this;
    w.processing_time = true;
    return w;
  }
};

// A built-in aggregate: output field `name` = function(field). Functions as in the job spec:
// count, sum, min, max, avg, first, last, stddev_pop, stddev_samp, var_pop, var_samp,
// count_distinct, collect_list.
struct AggregateSpec {
  std::string name;
  std::string function;
  std::string field;  // empty for count
};
inline AggregateSpec Count(std::string name) { return {std::move(name), "count", ""}; }
inline AggregateSpec Sum(std::string field, std::string name) { return {std::move(name), "sum", std::move(field)}; }
inline AggregateSpec Min(std::string field, std::string name) { return {std::move(name), "min", std::move(field)}; }
inline AggregateSpec Max(std::string field, std::string name) { return {std::move(name), "max", std::move(field)}; }
inline AggregateSpec Avg(std::string field, std::string name) { return {std::move(name), "avg", std::move(field)}; }
inline AggregateSpec AggregateOf(std::string function, std::string field, std::string name) {
  return {std::move(name), std::move(function), std::move(field)};
}


class KeyedStream;
class BroadcastStream;
class BroadcastConnectedStream;
class WindowedStream;

// A stream of rows: a source, or an operator's main or side output.
class DataStream {
 public:
  // F: a MapFunction subclass, or a callable (const Row&, RowWriter&). `output`: the result rows.
  template <typename F>
  DataStream Map(F fn, Schema output) {
    if constexpr (std::is_base_of_v<MapFunction, F>) {
      return AddFunction("map", detail::FactoryOf<MapFunction>(FunctionKind::kMap, std::move(fn)), &output, {});
    } else {
      return Map(detail::LambdaMap<F>(std::move(fn)), std::move(output));
    }
  }
  // F: a FilterFunction subclass, or a callable (const Row&) -> bool. Keeps the input's fields.
  template <typename F>
  DataStream Filter(F fn) {
    if constexpr (std::is_base_of_v<FilterFunction, F>) {
      return AddFunction("filter", detail::FactoryOf<FilterFunction>(FunctionKind::kFilter, std::move(fn)), nullptr, {});
    } else {
      return Filter(detail::LambdaFilter<F>(std::move(fn)));
    }
  }
  // F: a FlatMapFunction subclass, or a callable (const Row&, Collector&).
  template <typename F>
  DataStream FlatMap(F fn, Schema output) {
    if constexpr (std::is_base_of_v<FlatMapFunction, F>) {
      return AddFunction("flat-map", detail::FactoryOf<FlatMapFunction>(FunctionKind::kFlatMap, std::move(fn)), &output, {});
    } else {
      return FlatMap(detail::LambdaFlatMap<F>(std::move(fn)), std::move(output));
    }
  }
  // A ProcessFunction without keyed state or timers; `side_outputs` are the OutputTags it may
  // emit to (Collector::EmitTo(i) for side_outputs[i]).
  template <typename F>
  DataStream Process(F fn, Schema output, std::vector<OutputTag> side_outputs = {}) {
    return AddFunction("process", detail::FactoryOf<ProcessFunction>(FunctionKind::kProcess, std::move(fn)), &output, std::move(side_outputs));
  }

  // Partitions by the key fields (Flink's keyBy): the keyed operator after it gets all rows of
  // a key on one subtask, and keyed state.
  KeyedStream KeyBy(std::vector<std::string> fields) const;
  // Round robin over the next operator's subtasks (Flink's rebalance / rescale).
  DataStream Rebalance() const { return WithPartition(detail::Partition::kRebalance); }
  DataStream Rescale() const { return WithPartition(detail::Partition::kRescale); }
  // Every row to every subtask of a connected operator (Flink's broadcast(descriptor)).
  BroadcastStream Broadcast() const;
  // This stream and others with the same fields, as one (Flink's union).
  DataStream Union(std::vector<DataStream> others) const;
  // A non-keyed stream connected to a broadcast stream: Process takes a
  // BroadcastProcessFunction.
  BroadcastConnectedStream Connect(const BroadcastStream& broadcast) const;
  // The side output `tag` of this operator (Flink's getSideOutput). The tag must be one the
  // operator declared (process functions), or the name given to a window's
  // SideOutputLateData.
  DataStream SideOutput(const std::string& tag_name) const;

  // Writes to a sink: `connector` is the sink's block mapping as in the spec (`type: file ...`).
  // Returns the sink's handle (Flink's DataStreamSink): Name/Uid/SetParallelism set the sink's.
  DataStream SinkTo(std::string name, std::string connector) const;
  DataStream Print(std::string name) const { return SinkTo(std::move(name), "type: print"); }

  // Settings of the operator (or source or sink) that produced this stream, as in Flink.
  DataStream& Name(std::string name) {
    node().name = std::move(name);
    return *this;
  }
  DataStream& Uid(std::string uid) {
    node().uid = std::move(uid);
    return *this;
  }
  DataStream& SetParallelism(int parallelism) {
    node().parallelism = parallelism;
    return *this;
  }

  // The builder's internals.
  DataStream(std::shared_ptr<detail::Plan> plan, detail::Input input)
      : plan_(std::move(plan)), input_(std::move(input)) {}
  const detail::Input& input() const { return input_; }
  const std::shared_ptr<detail::Plan>& plan() const { return plan_; }
  detail::Node& node() { return plan_->nodes[static_cast<size_t>(last_)]; }
  // Adds a step reading `inputs`; returns its main output.
  static DataStream AddStep(const std::shared_ptr<detail::Plan>& plan, detail::Node n) {
    n.section = detail::Section::kStep;
    plan->nodes.push_back(std::move(n));
    const int id = static_cast<int>(plan->nodes.size()) - 1;
    DataStream out(plan, detail::Input{id, 0, {}, detail::Partition::kNone});
    out.last_ = id;
    return out;
  }
  // Adds a `process` step running `factory` over `inputs` (two: connected streams; the
  // second broadcast when `broadcast_second`), labelled `label` for its default name.
  static DataStream AddProcess(const std::shared_ptr<detail::Plan>& plan, const char* label,
                               FunctionFactory factory, const Schema* output,
                               const std::vector<OutputTag>& side_outputs,
                               std::vector<detail::Input> inputs, bool broadcast_second = false) {
    if (side_outputs.size() > 1) {
      throw std::invalid_argument("a process function has at most one side output for now");
    }
    const std::string id = "f" + std::to_string(plan->functions.size() + 1);
    plan->functions.emplace(id, std::move(factory));
    detail::Node n;
    n.op = "process";
    n.label = label;
    n.body = {{"function", detail::Quote(id)}};
    if (output != nullptr) n.body.emplace_back("schema", output->ToSpec());
    for (const OutputTag& t : side_outputs) {
      n.body.emplace_back("side-output-schema", t.schema.ToSpec());
      n.side_tags.push_back(t.name);
    }
    n.two_input = inputs.size() == 2;
    if (broadcast_second) inputs[1].partition = detail::Partition::kBroadcast;
    n.inputs = std::move(inputs);
    return AddStep(plan, std::move(n));
  }

 private:
  DataStream AddFunction(const char* kind, FunctionFactory factory, const Schema* output,
                         std::vector<OutputTag> side_outputs) const {
    return AddProcess(plan_, kind, std::move(factory), output, side_outputs, {input_});
  }
  DataStream WithPartition(detail::Partition p) const {
    DataStream out = *this;
    out.input_.partition = p;
    return out;
  }

  std::shared_ptr<detail::Plan> plan_;
  detail::Input input_;
  int last_ = -1;  // the node whose settings Name/Uid/SetParallelism change

  friend class StreamExecutionEnvironment;
};

// A stream whose next operator is broadcast to (connect it to a DataStream or KeyedStream).
class BroadcastStream {
 public:
  explicit BroadcastStream(DataStream s) : stream_(std::move(s)) {}
  const DataStream& stream() const { return stream_; }

 private:
  DataStream stream_;
};

// A stream connected with a broadcast stream (keyed or not).
class BroadcastConnectedStream {
 public:
  BroadcastConnectedStream(DataStream first, DataStream broadcast)
      : first_(std::move(first)), broadcast_(std::move(broadcast)) {}
  // F: a BroadcastProcessFunction subclass.
  template <typename F>
  DataStream Process(F fn, Schema output, std::vector<OutputTag> side_outputs = {}) const {
    return DataStream::AddProcess(
        first_.plan(), "broadcast-process",
        detail::FactoryOf<BroadcastProcessFunction>(FunctionKind::kBroadcastProcess, std::move(fn)),
        &output, side_outputs, {first_.input(), broadcast_.input()}, /*broadcast_second=*/true);
  }

 private:
  DataStream first_, broadcast_;
};

// Two keyed streams connected (Flink's ConnectedStreams of two KeyedStreams).
class ConnectedStreams {
 public:
  ConnectedStreams(DataStream first, DataStream second)
      : first_(std::move(first)), second_(std::move(second)) {}
  // F: a CoProcessFunction subclass.
  template <typename F>
  DataStream Process(F fn, Schema output, std::vector<OutputTag> side_outputs = {}) const {
    return DataStream::AddProcess(
        first_.plan(), "co-process",
        detail::FactoryOf<CoProcessFunction>(FunctionKind::kCoProcess, std::move(fn)), &output,
        side_outputs, {first_.input(), second_.input()});
  }

 private:
  DataStream first_, second_;
};

// The two sides of a join, keyed (interval join, window join, regular join).
class JoinBuilder {
 public:
  JoinBuilder(DataStream left, DataStream right) : left_(std::move(left)), right_(std::move(right)) {}
  // Flink's intervalJoin(...).between(lower, upper): pairs with right.ts - left.ts in
  // [lower_ms, upper_ms]. Output: the left fields, then the right fields (a right field whose
  // name the left has gets `right_prefix`).
  DataStream Between(int64_t lower_ms, int64_t upper_ms, std::string right_prefix = "right_") const {
    return Join("interval-join", {{"between", "{lower: " + Ms(lower_ms) + ", upper: " + Ms(upper_ms) + "}"}}, right_prefix);
  }
  // Pairs in the same window (Flink's join().window()): tumbling or sliding.
  DataStream InWindow(const Window& w, std::string right_prefix = "right_") const {
    std::string window = "{type: " + w.type + ", size: " + Ms(w.size_ms);
    if (w.type == "sliding") window += ", slide: " + Ms(w.slide_ms);
    return Join("window-join", {{"window", window + "}"}}, right_prefix);
  }
  // A regular inner join; buffered rows expire after ttl_ms of processing time (0: never).
  DataStream Regular(int64_t ttl_ms, std::string right_prefix = "right_") const {
    std::vector<std::pair<std::string, std::string>> body;
    if (ttl_ms > 0) body.emplace_back("ttl", Ms(ttl_ms));
    return Join("join", std::move(body), right_prefix);
  }

  static std::string Ms(int64_t ms) { return std::to_string(ms) + " ms"; }

 private:
  DataStream Join(const char* op, std::vector<std::pair<std::string, std::string>> body,
                  const std::string& right_prefix) const {
    detail::Node n;
    n.op = op;
    n.two_input = true;
    n.body = std::move(body);
    n.body.emplace_back("right-prefix", detail::Quote(right_prefix));
    n.inputs = {left_.input(), right_.input()};
    return DataStream::AddStep(left_.plan(), std::move(n));
  }

  DataStream left_, right_;
};

// A stream partitioned by key (Flink's KeyedStream).
class KeyedStream {
 public:
  explicit KeyedStream(DataStream s) : stream_(std::move(s)) {}

  // A KeyedProcessFunction (F derives from ProcessFunction): keyed state and timers.
  template <typename F>
  DataStream Process(F fn, Schema output, std::vector<OutputTag> side_outputs = {}) const {
    return DataStream::AddProcess(
        stream_.plan(), "keyed-process",
        detail::FactoryOf<ProcessFunction>(FunctionKind::kProcess, std::move(fn)), &output,
        side_outputs, {stream_.input()});
  }
  WindowedStream Window(sluice::Window w) const;
  // Keyed aggregation without windows (an updated result row per input row) with a state TTL
  // in ms (0: keep forever).
  DataStream Aggregate(const std::vector<AggregateSpec>& aggregates, int64_t ttl_ms = 0) const;
  // The first row of each key passes; with ttl_ms > 0 a key unseen that long is forgotten.
  DataStream Deduplicate(int64_t ttl_ms = 0) const {
    detail::Node n;
    n.op = "deduplicate";
    n.body.emplace_back("keep", "first");
    if (ttl_ms > 0) n.body.emplace_back("ttl", JoinBuilder::Ms(ttl_ms));
    n.inputs.push_back(stream_.input());
    return DataStream::AddStep(stream_.plan(), std::move(n));
  }
  // The last row per key as an updating stream (-U previous, +U new; Flink SQL's keep-last
  // deduplication). Only sinks with `changelog: true` (and print) read it.
  DataStream DeduplicateKeepLast(int64_t ttl_ms = 0) const {
    detail::Node n;
    n.op = "deduplicate";
    n.body.emplace_back("keep", "last");
    if (ttl_ms > 0) n.body.emplace_back("ttl", JoinBuilder::Ms(ttl_ms));
    n.inputs.push_back(stream_.input());
    return DataStream::AddStep(stream_.plan(), std::move(n));
  }
  // The n rows with the largest (`descending`) or smallest `field` per key, as an updating
  // stream (+I entering, -D pushed out; Flink SQL's Top-N without row number).
  DataStream TopN(int64_t n, const std::string& field, bool descending = true,
                  int64_t ttl_ms = 0) const {
    detail::Node node;
    node.op = "top-n";
    node.body.emplace_back("n", std::to_string(n));
    node.body.emplace_back("order-by", detail::Quote(field));
    node.body.emplace_back("order", descending ? "desc" : "asc");
    if (ttl_ms > 0) node.body.emplace_back("ttl", JoinBuilder::Ms(ttl_ms));
    node.inputs.push_back(stream_.input());
    return DataStream::AddStep(stream_.plan(), std::move(node));
  }
  ConnectedStreams Connect(const KeyedStream& other) const {
    return ConnectedStreams(stream_, other.stream_);
  }
  BroadcastConnectedStream Connect(const BroadcastStream& broadcast) const {
    return BroadcastConnectedStream(stream_, broadcast.stream());
  }
  JoinBuilder IntervalJoin(const KeyedStream& other) const { return JoinBuilder(stream_, other.stream_); }
  JoinBuilder Join(const KeyedStream& other) const { return JoinBuilder(stream_, other.stream_); }

  const DataStream& stream() const { return stream_; }

 private:
  DataStream stream_;
};

// A keyed stream with a window assigner (Flink's WindowedStream).
class WindowedStream {
 public:
  WindowedStream(DataStream s, sluice::Window w) : stream_(std::move(s)), window_(std::move(w)) {}
  // Flink's allowedLateness, in ms of event time.
  WindowedStream& AllowedLateness(int64_t ms) {
    lateness_ms_ = ms;
    return *this;
  }
  // Late rows go to the side output `name` (read it with SideOutput(name) on the result).
  WindowedStream& SideOutputLateData(std::string name) {
    late_ = std::move(name);
    return *this;
  }
  // One row per key and window: the key fields, window_start, window_end, then the aggregates.
  DataStream Aggregate(const std::vector<AggregateSpec>& aggregates) const {
    detail::Node n;
    n.op = "window";
    n.body.emplace_back("type", window_.type);
    if (window_.type == "session") {
      n.body.emplace_back("gap", JoinBuilder::Ms(window_.gap_ms));
    } else {
      n.body.emplace_back("size", JoinBuilder::Ms(window_.size_ms));
    }
    if (window_.type == "sliding") n.body.emplace_back("slide", JoinBuilder::Ms(window_.slide_ms));
    if (window_.type == "cumulate") n.body.emplace_back("step", JoinBuilder::Ms(window_.slide_ms));
    if (window_.processing_time) n.body.emplace_back("time", "processing");
    if (lateness_ms_ > 0) n.body.emplace_back("allowed-lateness", JoinBuilder::Ms(lateness_ms_));
    n.body.emplace_back("aggregates", AggregatesBody(aggregates));
    n.inputs.push_back(stream_.input());
    if (!late_.empty()) n.side_tags.push_back(late_);
    return DataStream::AddStep(stream_.plan(), std::move(n));
  }

  // A user AggregateFunction (windows.h; F derives from AggregateFunction<ACC>): one row per
  // key and window as F::GetResult writes it, with `output`'s fields.
  template <typename F>
    requires std::is_base_of_v<AggregateFunction<typename F::Acc>, F>
  DataStream Aggregate(F fn, Schema output) const {
    return AddUserWindow(std::move(fn), std::move(output));
  }
  // A ProcessWindowFunction: all rows of a window at once; any number of result rows.
  template <typename F>
    requires std::is_base_of_v<ProcessWindowFunction, F>
  DataStream Process(F fn, Schema output) const {
    return AddUserWindow(detail::ProcessWindowAdapter<F>(std::move(fn)), std::move(output));
  }
  // A ReduceFunction: rows combined as they arrive; one row per key and window with the
  // stream's fields, which `fields` must repeat (the builder does not know them).
  template <typename F>
    requires std::is_base_of_v<ReduceFunction, F>
  DataStream Reduce(F fn, Schema fields) const {
    return AddUserWindow(detail::ReduceAdapter<F>(std::move(fn)), std::move(fields));
  }

  // Windows with user functions run on event time over tumbling, sliding or session windows;
  // std::invalid_argument for processing time, cumulate windows or SideOutputLateData (late
  // rows are dropped).
  template <typename F>
  DataStream AddUserWindow(F fn, Schema output) const {
    if (window_.processing_time || window_.type == "cumulate" || !late_.empty()) {
      throw std::invalid_argument(
          "a window with a user function runs on event time over tumbling, sliding or session "
          "windows, without a late side output");
    }
    return DataStream::AddProcess(
        stream_.plan(), "window",
        detail::FactoryOf<ProcessFunction>(
            FunctionKind::kProcess,
            detail::WindowAggregateProcess<F>(std::move(fn), window_.type, window_.size_ms,
                                              window_.slide_ms, window_.gap_ms, lateness_ms_)),
        &output, {}, {stream_.input()});
  }

  static std::string AggregatesBody(const std::vector<AggregateSpec>& aggregates) {
    std::string out = "{";
    for (size_t i = 0; i < aggregates.size(); ++i) {
      const AggregateSpec& a = aggregates[i];
      out += (i ? ", " : "") + detail::Quote(a.name) + ": " +
             detail::Quote(a.function + "(" + a.field + ")");
    }
    return out + "}";
  }

 private:
  DataStream stream_;
  sluice::Window window_;
  int64_t lateness_ms_ = 0;
  std::string late_;
};

inline WindowedStream KeyedStream::Window(sluice::Window w) const {
  return WindowedStream(stream_, std::move(w));
}

inline DataStream KeyedStream::Aggregate(const std::vector<AggregateSpec>& aggregates,
                                         int64_t ttl_ms) const {
  detail::Node n;
  n.op = "aggregate";
  n.body.emplace_back("aggregates", WindowedStream::AggregatesBody(aggregates));
  if (ttl_ms > 0) n.body.emplace_back("ttl", JoinBuilder::Ms(ttl_ms));
  n.inputs.push_back(stream_.input());
  return DataStream::AddStep(stream_.plan(), std::move(n));
}

inline KeyedStream DataStream::KeyBy(std::vector<std::string> fields) const {
  DataStream out = *this;
  out.input_.keys = std::move(fields);
  out.input_.partition = detail::Partition::kNone;
  return KeyedStream(std::move(out));
}

inline BroadcastStream DataStream::Broadcast() const {
  return BroadcastStream(WithPartition(detail::Partition::kBroadcast));
}

inline BroadcastConnectedStream DataStream::Connect(const BroadcastStream& broadcast) const {
  return BroadcastConnectedStream(*this, broadcast.stream());
}

inline DataStream DataStream::Union(std::vector<DataStream> others) const {
  detail::Node n;
  n.op = "union";
  n.inputs.push_back(input_);
  for (const DataStream& o : others) n.inputs.push_back(o.input());
  return AddStep(plan_, std::move(n));
}

inline DataStream DataStream::SideOutput(const std::string& tag_name) const {
  detail::Node& producer = plan_->nodes[static_cast<size_t>(input_.node)];
  if (std::find(producer.side_tags.begin(), producer.side_tags.end(), tag_name) ==
      producer.side_tags.end()) {
    throw std::invalid_argument("SideOutput('" + tag_name + "'): the operator declares no such "
                                "side output (an OutputTag of its function, or its window's "
                                "SideOutputLateData)");
  }
  producer.side_output = tag_name;
  return DataStream(plan_, detail::Input{input_.node, 1, {}, detail::Partition::kNone});
}

inline DataStream DataStream::SinkTo(std::string name, std::string connector) const {
  detail::Node n;
  n.section = detail::Section::kSink;
  n.name = std::move(name);
  n.connector = std::move(connector);
  n.inputs.push_back(input_);
  plan_->nodes.push_back(std::move(n));
  DataStream sink = *this;
  sink.last_ = static_cast<int>(plan_->nodes.size()) - 1;
  return sink;
}

// The job being built (Flink's StreamExecutionEnvironment).
class StreamExecutionEnvironment {
 public:
  StreamExecutionEnvironment() : plan_(std::make_shared<detail::Plan>()) {}

  void SetName(std::string name) { plan_->job_name = std::move(name); }
  // The job's default parallelism (the CLI's -p overrides it) and max parallelism.
  void SetParallelism(int p) { plan_->parallelism = p; }
  void SetMaxParallelism(int p) { plan_->max_parallelism = p; }
  // Top-level settings as in the spec, a block mapping: `checkpointing: {interval: 10 s}` ...
  void Configure(std::string settings) { plan_->settings += detail::Indent(settings, 0); }

  // A source: `connector` is its block mapping as in the spec (`type: file`, `path`, `schema`,
  // `event-time`, ...). `name` is its stream name, display name and default uid.
  DataStream FromSource(std::string name, std::string connector) {
    detail::Node n;
    n.section = detail::Section::kSource;
    n.name = std::move(name);
    n.connector = std::move(connector);
    plan_->nodes.push_back(std::move(n));
    const int id = static_cast<int>(plan_->nodes.size()) - 1;
    DataStream out(plan_, detail::Input{id, 0, {}, detail::Partition::kNone});
    out.last_ = id;
    return out;
  }

  // A scalar function expressions may call as `name(...)` (scalar_function.h). Throws
  // std::invalid_argument for a name that is not an identifier, or is registered twice.
  void RegisterScalarFunction(const std::string& name, ScalarFunctionFactory factory) {
    bool ok = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
    for (char c : name) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_');
    }
    if (!ok) {
      throw std::invalid_argument("RegisterScalarFunction('" + name + "'): the name must be an "
                                  "identifier ([A-Za-z_][A-Za-z0-9_]*)");
    }
    if (!factory) throw std::invalid_argument("RegisterScalarFunction('" + name + "'): no factory");
    if (!plan_->scalar_functions.emplace(name, std::move(factory)).second) {
      throw std::invalid_argument("RegisterScalarFunction('" + name + "'): registered twice");
    }
  }

  // The job as a spec and its functions. Without any source it is a function library: an empty
  // spec and the scalar functions.
  JobDefinition Build() const;

 private:
  std::shared_ptr<detail::Plan> plan_;
};

inline JobDefinition StreamExecutionEnvironment::Build() const {
  if (plan_->nodes.empty()) return JobDefinition{"", {}, plan_->scalar_functions};
  return JobDefinition{detail::RenderSpec(*plan_), plan_->functions, plan_->scalar_functions};
}

}  // namespace sluice
