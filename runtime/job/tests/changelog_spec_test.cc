// Updating streams in the job spec: deduplicate keep-last and top-n compile into changelog
// operators, row-wise steps and changelog sinks accept their output, and everything else is
// refused at submission naming the step that made the stream updating. Also the keyed steps
// whose output is insert-only again: top-n with emit: final (a window Top-N) and over.

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

namespace sluice::job {
namespace {

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? s : s.replace(at, from.size(), to);
}

TEST(ChangelogSpec, OverAndFinalTopNAreInsertOnly) {
  const std::string spec =
      "name: o\nsource:\n  type: file\n  path: f.csv\n"
      "  schema: {date: timestamp, delay: int64, origin: string}\n"
      "  event-time: {field: date}\n"
      "pipeline:\n  - key-by: [origin]\n  - over:\n      rows: 2\n"
      "      aggregates: {recent: sum(delay), n: count()}\n"
      "sink:\n  type: file\n  path: out\n";
  auto compile = [](const std::string& yaml) {
    return CompileJob(JobSubmission{yaml, "job.yaml", "/base", 0});
  };
  auto g = compile(spec);
  ASSERT_TRUE(g.ok()) << g.status();  // a plain file sink: the over step's output is insert-only
  EXPECT_EQ(compile(Replace(spec, "      rows: 2\n", "      rows: 2\n      range: 1 s\n"))
                .status().message(),
            "job.yaml:10:7: over: give exactly one of 'rows' (a row count or unbounded) or "
            "'range' (a duration or unbounded)");
  EXPECT_EQ(compile(Replace(spec, "sum(delay)", "first(delay)")).status().message(),
            "job.yaml:11:28: over: aggregate 'recent': first() is not supported over a frame "
            "(count, sum, min, max, avg)");
  EXPECT_EQ(compile(Replace(spec, "  event-time: {field: date}\n", "")).status().message(),
            "job.yaml:8:5: over: needs event time (declare event-time on the source)");
  const std::string top = Replace(spec, "  - over:\n      rows: 2\n"
                                        "      aggregates: {recent: sum(delay), n: count()}\n",
                                  "  - top-n: {n: 2, order-by: delay, emit: final}\n");
  EXPECT_TRUE(compile(top).ok()) << compile(top).status();
  EXPECT_THAT(std::string(compile(Replace(top, "emit: final", "emit: updates")).status().message()),
              HasSubstr("updating stream"));
}

}  // namespace
}  // namespace sluice::job
