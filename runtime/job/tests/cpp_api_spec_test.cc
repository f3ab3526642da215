// The C++ DataStream API's environment compiled by the job spec compiler, in-process (no
// plugin library): the shape of the JobGraph each API call produces, and the errors of
// `process` steps.

#include <stdexcept>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/graph/plan_text.h"
#include "runtime/job/job_compiler.h"
#include "sluice/datastream.h"

namespace sluice::job {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPayments[] = R"(
  type: file
  path: payments.csv
  schema: {ts: timestamp, card: string, amount: int64}
  event-time: {field: ts, max-out-of-orderness: 1 s}
)";
constexpr char kRules[] = R"(
  type: file
  path: rules.csv
  schema: {ts: timestamp, limit: int64}
)";

struct PassThrough : ProcessFunction {
  void ProcessElement(const Row&, Context&, Collector&) override {}
};
struct Both : CoProcessFunction {
  void ProcessElement1(const Row&, Context&, Collector&) override {}
  void ProcessElement2(const Row&, Context&, Collector&) override {}
};
struct WithRules : BroadcastProcessFunction {
  void ProcessElement(const Row&, Context&, Collector&) override {}
  void ProcessBroadcastElement(const Row&, Context&, Collector&) override {}
};

const Schema kCard{{"card", Type::kString}};

absl::StatusOr<graph::JobGraph> Compile(const StreamExecutionEnvironment& env) {
  auto def = std::make_shared<JobDefinition>(env.Build());
  JobSubmission sub;
  sub.spec_yaml = def->spec_yaml;
  sub.spec_path = "<plugin test>";
  sub.base_dir = "/base";
  sub.plugin = def;
  return CompileJob(sub);
}

std::string PlanOf(const StreamExecutionEnvironment& env) {
  auto g = Compile(env);
  EXPECT_TRUE(g.ok()) << g.status() << "\n" << env.Build().spec_yaml;
  return g.ok() ? graph::FormatPlan(*g) : "";
}

TEST(CppApiSpec, KeyedConnectHashesBothInputsByTheirKeys) {
  StreamExecutionEnvironment env;
  auto payments = env.FromSource("payments", kPayments);
  auto rules = env.FromSource("rules", kRules);
  auto keyed_rules = rules.Map([](const Row& r, RowWriter& w) { w.SetString(0, std::to_string(r.GetInt64(1))); },
                               kCard);
  payments.KeyBy({"card"}).Connect(keyed_rules.KeyBy({"card"})).Process(Both(), kCard).Uid("both").Print("out");
  const std::string plan = PlanOf(env);
  EXPECT_THAT(plan, HasSubstr("co-process-3"));
  EXPECT_THAT(plan, HasSubstr("uid both"));
  EXPECT_THAT(plan, HasSubstr("HASH [card]  (input 0)"));
  EXPECT_THAT(plan, HasSubstr("HASH [card]  (input 1)"));
}

TEST(CppApiSpec, BroadcastConnectBroadcastsTheSecondInput) {
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  auto payments = env.FromSource("payments", kPayments);
  auto rules = env.FromSource("rules", kRules);
  const OutputTag tag{"rejected", kCard};
  auto checked = payments.KeyBy({"card"}).Connect(rules.Broadcast()).Process(WithRules(), kCard, {tag});
  checked.Print("ok");
  checked.SideOutput("rejected").Print("rejected");
  const std::string plan = PlanOf(env);
  EXPECT_THAT(plan, HasSubstr("BROADCAST  (input 1)"));
  EXPECT_THAT(plan, HasSubstr("HASH [card]  (input 0)"));
  EXPECT_THAT(plan, HasSubstr("broadcast-process-2 -> (Sink: ok, Sink: rejected)"));
  EXPECT_THROW(checked.SideOutput("other"), std::invalid_argument);
}

TEST(CppApiSpec, BuiltInOperatorsUnionAndPartitioningCompile) {
  StreamExecutionEnvironment env;
  env.SetParallelism(2);
  env.Configure("checkpointing: {interval: 1 s, dir: /tmp/chk}");
  auto a = env.FromSource("a", kPayments);
  auto b = env.FromSource("b", kPayments);
  auto both = a.Union({b});
  both.KeyBy({"card"}).Window(Window::Sliding(10'000, 2'000)).AllowedLateness(1'000)
      .SideOutputLateData("late").Aggregate({Count("n"), Sum("amount", "total")})
      .Name("per-card").Print("windows");
  auto windows_late = both.KeyBy({"card"}).Window(Window::Session(5'000)).Aggregate({Count("n")});
  windows_late.Rebalance().Filter([](const Row& r) { return r.GetInt64(3) > 1; }).Print("busy");
  both.KeyBy({"card"}).Aggregate({Max("amount", "biggest")}, 60'000).Print("rolling");
  both.KeyBy({"card"}).Deduplicate(60'000).Print("first");
  both.KeyBy({"card"}).DeduplicateKeepLast().SinkTo("last", "type: file\npath: /tmp/l\nchangelog: true");
  both.KeyBy({"card"}).TopN(3, "amount").Print("top");
  a.KeyBy({"card"}).IntervalJoin(b.KeyBy({"card"})).Between(-1'000, 1'000).Print("pairs");
  a.KeyBy({"card"}).Join(b.KeyBy({"card"})).InWindow(Window::Tumbling(5'000)).Print("same-window");
  const std::string plan = PlanOf(env);
  EXPECT_THAT(plan, HasSubstr("checkpointing every 1000 ms"));
  EXPECT_THAT(plan, HasSubstr("per-card"));
  EXPECT_THAT(plan, HasSubstr("interval-join-16  "));
  EXPECT_THAT(plan, HasSubstr("window-join-18  "));
  EXPECT_THAT(plan, HasSubstr("REBALANCE"));
  EXPECT_THAT(plan, HasSubstr("deduplicate-10 -> Sink: first"));
  EXPECT_THAT(plan, HasSubstr("top-n-"));
  EXPECT_THAT(plan, Not(HasSubstr("side output")));  // the late rows' tag is never read
}

TEST(CppApiSpec, ProcessStepsNeedThePluginsFunctions) {
  StreamExecutionEnvironment env;
  env.FromSource("payments", kPayments).KeyBy({"card"}).Process(PassThrough(), kCard).Print("out");
  JobSubmission yaml_only;
  yaml_only.spec_yaml = env.Build().spec_yaml;
  yaml_only.spec_path = "job.yaml";
  EXPECT_THAT(CompileJob(yaml_only).status().message(),
              HasSubstr("process: names function 'f1', but the job has no C++ functions"));
  auto def = std::make_shared<JobDefinition>(env.Build());
  def->functions.clear();
  def->functions["other"] = FunctionFactory{FunctionKind::kMap, nullptr};
  yaml_only.plugin = def;
  EXPECT_THAT(CompileJob(yaml_only).status().message(),
              HasSubstr("unknown function 'f1' (the plugin has: other)"));
}

TEST(CppApiSpec, ProcessStepErrorsNameTheStep) {
  auto def = std::make_shared<JobDefinition>();
  def->functions["f1"] = FunctionFactory{FunctionKind::kProcess, [] {
                                           return std::unique_ptr<Function>(new PassThrough());
                                         }};
  JobSubmission sub;
  sub.spec_path = "job.yaml";
  sub.plugin = def;
  auto error = [&](const std::string& pipeline) {
    sub.spec_yaml = std::string("name: x\nsources:\n  p:\n") +
                    "    type: file\n    path: p.csv\n    schema: {card: string}\n" +
                    "  r:\n    type: file\n    path: r.csv\n    schema: {card: string}\n" +
                    "pipeline:\n" + pipeline + "sinks:\n  out: {type: print}\n";
    return std::string(CompileJob(sub).status().message());
  };
  EXPECT_THAT(error("  - process: {function: f1}\n    input: p\n"),
              HasSubstr("process: missing required key 'schema'"));
  EXPECT_THAT(error("  - process: {function: f1, schema: {card: string}}\n    input: p\n"
                    "    side-output: extra\n"),
              HasSubstr("process: declares no side output"));
  EXPECT_THAT(error("  - process: {function: f1, schema: {card: string}, inputs: "
                    "[{input: r, broadcast: true}, {input: p}]}\n"),
              HasSubstr("the broadcast input must be the second one"));
  EXPECT_THAT(error("  - process: {function: f1, schema: {card: string}, inputs: "
                    "[{input: p, key: card}, {input: r, broadcast: true}]}\n"),
              HasSubstr("process function 'f1' reads 1 input(s), the step gives 2"));
}

TEST(CppApiSpec, AUserWindowNeedsEventTimeWindowsItSupports) {
  struct Count : AggregateFunction<int64_t> {
    int64_t CreateAccumulator() override { return 0; }
    void Add(const Row&, int64_t& acc) override { ++acc; }
    void Merge(int64_t& into, const int64_t& from) override { into += from; }
    void GetResult(const int64_t& acc, const WindowContext&, RowWriter& out) override {
      out.SetInt64(0, acc);
    }
  };
  StreamExecutionEnvironment env;
  auto keyed = env.FromSource("payments", kPayments).KeyBy({"card"});
  EXPECT_THROW(keyed.Window(Window::Tumbling(1'000).ProcessingTime()).Aggregate(Count(), kCard),
               std::invalid_argument);
  keyed.Window(Window::Tumbling(1'000)).Aggregate(Count(), Schema{{"n", Type::kInt64}}).Print("n");
  EXPECT_THAT(PlanOf(env), HasSubstr("window-1"));
}

}  // namespace
}  // namespace sluice::job
