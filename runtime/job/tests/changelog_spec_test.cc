// Updating streams in the job spec: deduplicate keep-last and top-n compile into changelog
// operators, row-wise steps and changelog sinks accept their output, and everything else is
// refused at submission naming the step that made the stream updating.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/graph/plan_text.h"
#include "runtime/job/job_compiler.h"

namespace sluice::job {
namespace {

using ::testing::HasSubstr;

constexpr char kHead[] = R"(name: changelog
sources:
  flights:
    type: file
    path: f.csv
    schema: {date: timestamp, delay: int64, origin: string}
    event-time: {field: date}
pipeline:
  - key-by: [origin]
    input: flights
  - top-n: {n: 3, order-by: delay}
    name: top
)";

absl::StatusOr<graph::JobGraph> Compile(const std::string& rest) {
  return CompileJob(JobSubmission{std::string(kHead) + rest, "job.yaml", "/base", 0});
}

std::string ErrorOf(const std::string& rest) {
  auto g = Compile(rest);
  EXPECT_FALSE(g.ok()) << rest;
  return std::string(g.status().message());
}

TEST(ChangelogSpec, RowWiseStepsAndChangelogSinksReadUpdates) {
  auto g = Compile(R"(  - filter: delay > 10
    input: top
    name: late
  - map: {origin: origin, hours: delay / 60}
    name: hours
  - key-by: [origin]
    input: flights
  - deduplicate: {keep: last, ttl: 1 d}
    name: last
sinks:
  top: {input: hours, type: file, path: out/top, changelog: true}
  last: {input: last, type: print}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  const std::string plan = graph::FormatPlan(*g);
  EXPECT_THAT(plan, HasSubstr("top -> late -> hours -> Sink: top"));
  EXPECT_THAT(plan, HasSubstr("last -> Sink: last"));
}

TEST(ChangelogSpec, OperatorsThatNeedInsertsRefuseAnUpdatingInput) {
  EXPECT_THAT(ErrorOf(R"(  - key-by: [origin]
    input: top
  - window: {size: 1 h, aggregates: {n: count()}}
sinks:
  out: {type: print}
)"),
              HasSubstr("job.yaml:15:5: pipeline step 4 ('window'): its input is an updating "
                        "stream (step 2 'top-n' (line 11) emits -U/+U/-D rows"));
  EXPECT_THAT(ErrorOf(R"(  - key-by: [origin]
    input: top
  - deduplicate: {keep: last}
sinks:
  out: {type: print}
)"),
              HasSubstr("but deduplicate needs an insert-only stream"));
  EXPECT_THAT(ErrorOf(R"(  - interval-join:
      left: {input: top, key: [origin]}
      right: {input: flights, key: [origin]}
      between: {lower: -1 min, upper: 1 min}
sinks:
  out: {type: print}
)"),
              HasSubstr("but interval-join needs an insert-only stream"));
}

TEST(ChangelogSpec, SinksThatCannotRepresentUpdatesRefuseThem) {
  EXPECT_THAT(ErrorOf("sinks:\n  out: {input: top, type: file, path: out}\n"),
              HasSubstr("job.yaml:14:8: sink: its input is an updating stream (step 2 'top-n' "
                        "(line 11) emits -U/+U/-D rows that retract earlier ones); write it as a "
                        "changelog with 'changelog: true' (a leading op field: +I, -U, +U or -D)"));
  EXPECT_THAT(ErrorOf("sinks:\n  out: {input: top, type: kafka, bootstrap-servers: k:9092, "
                      "topic: t}\n"),
              HasSubstr("the Kafka sink writes insert-only streams"));
  EXPECT_THAT(ErrorOf("sinks:\n  out: {input: top, type: print, changelog: true}\n"),
              HasSubstr("'changelog' is for file sinks"));
}

TEST(ChangelogSpec, TopNOptionsAreChecked) {
  const std::string head = std::string(kHead);
  auto error = [&](const std::string& body) {
    std::string spec = head;
    spec.replace(spec.find("{n: 3, order-by: delay}"), 23, body);
    auto g = CompileJob(JobSubmission{spec + "sinks:\n  out: {type: print}\n", "job.yaml", "/b", 0});
    EXPECT_FALSE(g.ok()) << body;
    return std::string(g.status().message());
  };
  EXPECT_THAT(error("{order-by: delay}"), HasSubstr("top-n: missing required key 'n'"));
  EXPECT_THAT(error("{n: 0, order-by: delay}"), HasSubstr("n must be at least 1"));
  EXPECT_THAT(error("{n: 2, order-by: nope}"), HasSubstr("unknown order-by field 'nope'"));
  EXPECT_THAT(error("{n: 2, order-by: delay, order: up}"), HasSubstr("unknown order 'up'"));
  EXPECT_THAT(error("{n: 2}"), HasSubstr("missing required key 'order-by'"));
}

}  // namespace
}  // namespace sluice::job
