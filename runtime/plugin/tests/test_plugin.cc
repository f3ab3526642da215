// A job plugin for the tests, built like a user's: against the header-only API only.
// args[0] selects the job:
//   (none) | "ok"  ids 1..N (N = args[1], default 100) from DataGen; a keyed process function
//                  sums per id % 10 in ValueState and, on the final watermark, emits each sum
//                  once from an event-time timer; a map adds a label; to the file sink args[2]
//                  (default print).
//   "fail-at"      as "ok", but the first map throws at id == args[3] (a per-record failure),
//                  with one restart allowed (fixed-delay, 1 attempt).
//   "windows"      args: <flights csv(.gz)> <out dir> <tumbling|sliding|session>: per origin, the
//                  count and total delay per window with built-in aggregates (<out>/builtin),
//                  a user AggregateFunction (<out>/user) and a ProcessWindowFunction
//                  (<out>/process); the largest delay per window built in (<out>/builtin-max)
//                  and as the flight a ReduceFunction keeps (<out>/reduce).
//   "throw"        the build function throws.
//   "bad-spec"     a source with an unknown connector type (a compile error).

#include <stdexcept>
#include <string>
#include <utility>

#include "sluice/datastream.h"

namespace {

class SumPerBucket : public sluice::KeyedProcessFunction {
 public:
  void Open(sluice::RuntimeContext& ctx) override { sum_ = ctx.GetValueState<int64_t>("sum"); }
  void ProcessElement(const sluice::Row& in, sluice::Context& ctx, sluice::Collector&) override {
    sum_.Update(sum_.ValueOr(0) + in.GetInt64(0));
    ctx.Timers().RegisterEventTimeTimer(kEnd);
  }
  void OnTimer(int64_t, sluice::Context& ctx, sluice::Collector& out) override {
    sluice::RowWriter& w = out.Emit();
    w.SetInt64(0, ctx.CurrentKey().GetInt64(0));
    w.SetInt64(1, sum_.ValueOr(0));
    sum_.Clear();
  }

 private:
  static constexpr int64_t kEnd = int64_t{1} << 60;
  sluice::ValueState<int64_t> sum_;
};

// Count and total delay of a window's flights (delay is field 1 of the flights schema).
class CountAndDelay : public sluice::AggregateFunction<std::pair<int64_t, int64_t>> {
 public:
  Acc CreateAccumulator() override { return {0, 0}; }
  void Add(const sluice::Row& in, Acc& acc) override {
    ++acc.first;
    if (!in.IsNull(1)) acc.second += in.GetInt64(1);
  }
  void Merge(Acc& into, const Acc& from) override {
    into.first += from.first;
    into.second += from.second;
  }
  void GetResult(const Acc& acc, const sluice::WindowContext& w, sluice::RowWriter& out) override {
    out.SetString(0, w.Key().GetString(0));
    out.SetInt64(1, w.Start());
    out.SetInt64(2, w.End());
    out.SetInt64(3, acc.first);
    out.SetInt64(4, acc.second);
  }
};

// The same from all rows of the window at once.
class CountAndDelayOfRows : public sluice::ProcessWindowFunction {
 public:
  void Process(const sluice::WindowContext& w, const sluice::WindowRows& rows,
               sluice::Collector& out) override {
    int64_t total = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!rows[i].IsNull(1)) total += rows[i].GetInt64(1);
    }
    sluice::RowWriter& r = out.Emit();
    r.SetString(0, w.Key().GetString(0));
    r.SetInt64(1, w.Start());
    r.SetInt64(2, w.End());
    r.SetInt64(3, static_cast<int64_t>(rows.size()));
    r.SetInt64(4, total);
  }
};

// The flight with the largest delay (the earlier one on ties).
class MaxDelay : public sluice::ReduceFunction {
 public:
  void Reduce(const sluice::Row& a, const sluice::Row& b, sluice::RowWriter& out) override {
    const sluice::Row& keep = !b.IsNull(1) && (a.IsNull(1) || b.GetInt64(1) > a.GetInt64(1)) ? b : a;
    for (size_t f = 0; f < keep.num_fields(); ++f) out.Copy(f, keep, f);
  }
};

void BuildWindows(sluice::StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  if (args.size() != 4) throw std::invalid_argument("windows <flights> <out> <window type>");
  env.SetName("user-windows");
  auto flights = env.FromSource("flights", R"(
      type: file
      path: )" + args[1] + R"(
      schema: {date: timestamp, delay: int64, distance: int64, origin: string, destination: string}
      event-time: {field: date, max-out-of-orderness: 1 min}
  )");
  const std::string& type = args[3];
  const sluice::Window window = type == "session"   ? sluice::Window::Session(20 * 60'000)
                                : type == "sliding" ? sluice::Window::Sliding(3'600'000, 900'000)
                                                    : sluice::Window::Tumbling(3'600'000);
  const sluice::Schema out{{"origin", sluice::Type::kString},
                           {"window_start", sluice::Type::kTimestamp},
                           {"window_end", sluice::Type::kTimestamp},
                           {"n", sluice::Type::kInt64},
                           {"total", sluice::Type::kInt64}};
  flights.KeyBy({"origin"})
      .Window(window)
      .Aggregate({sluice::Count("n"), sluice::Sum("delay", "total")})
      .SinkTo("builtin", "type: file\npath: " + args[2] + "/builtin");
  flights.KeyBy({"origin"})
      .Window(window)
      .Aggregate(CountAndDelay(), out)
      .Uid("user-window")
      .SinkTo("user", "type: file\npath: " + args[2] + "/user");
  flights.KeyBy({"origin"})
      .Window(window)
      .Process(CountAndDelayOfRows(), out)
      .SinkTo("process", "type: file\npath: " + args[2] + "/process");
  flights.KeyBy({"origin"})
      .Window(window)
      .Aggregate({sluice::Max("delay", "max")})
      .SinkTo("builtin-max", "type: file\npath: " + args[2] + "/builtin-max");
  const sluice::Schema fields{{"date", sluice::Type::kTimestamp}, {"delay", sluice::Type::kInt64},
                              {"distance", sluice::Type::kInt64}, {"origin", sluice::Type::kString},
                              {"destination", sluice::Type::kString}};
  flights.KeyBy({"origin"})
      .Window(window)
      .Reduce(MaxDelay(), fields)
      .SinkTo("reduce", "type: file\npath: " + args[2] + "/reduce");
}

void Build(sluice::StreamExecutionEnvironment& env, const std::vector<std::string>& args) {
  const std::string mode = args.empty() ? "ok" : args[0];
  if (mode == "windows") {
    BuildWindows(env, args);
    return;
  }
  if (mode == "throw") throw std::runtime_error("the test plugin was asked to throw");
  env.SetName("test-plugin");
  const std::string n = args.size() > 1 ? args[1] : "100";
  if (mode == "bad-spec") {
    env.FromSource("ids", "type: nosuchconnector").Print("out");
    return;
  }
  auto ids = env.FromSource("ids", R"(
      type: datagen
      rows-per-second: 0
      schema: {id: int64, ts: timestamp}
      fields:
        id: {kind: sequence, start: 1, end: )" + n + R"(}
        ts: {kind: sequence, start: 0, end: )" + n + R"(}
      event-time: {field: ts, max-out-of-orderness: 0 s}
  )");
  const int64_t fail_at = mode == "fail-at" && args.size() > 3 ? std::stoll(args[3]) : -1;
  if (mode == "fail-at") {
    env.Configure("restart-strategy: {type: fixed-delay, attempts: 1, delay: 100 ms}");
  }
  auto buckets = ids.Map(
      [fail_at](const sluice::Row& r, sluice::RowWriter& w) {
        if (r.GetInt64(0) == fail_at) {
          throw std::invalid_argument("id " + std::to_string(fail_at) + " is not allowed");
        }
        w.SetInt64(0, r.GetInt64(0));
        w.SetInt64(1, r.GetInt64(0) % 10);
      },
      sluice::Schema{{"id", sluice::Type::kInt64}, {"bucket", sluice::Type::kInt64}});
  auto sums = buckets.KeyBy({"bucket"})
                  .Process(SumPerBucket(), sluice::Schema{{"bucket", sluice::Type::kInt64},
                                                          {"sum", sluice::Type::kInt64}})
                  .Uid("sums");
  auto labelled = sums.Map(
      [](const sluice::Row& r, sluice::RowWriter& w) {
        w.Copy(0, r, 0);
        w.Copy(1, r, 1);
        w.SetString(2, r.GetInt64(1) % 2 == 0 ? "even" : "odd");
      },
      sluice::Schema{{"bucket", sluice::Type::kInt64}, {"sum", sluice::Type::kInt64},
                     {"parity", sluice::Type::kString}});
  if (args.size() > 2) {
    labelled.SinkTo("out", "type: file\npath: " + args[2] + "\nformat: csv");
  } else {
    labelled.Print("out");
  }
}

}  // namespace

SLUICE_JOB(Build)
