#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/job/job_compiler.h"

namespace sluice::job {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<graph::JobGraph> Compile(const std::string& yaml) {
  return CompileJob(JobSubmission{yaml, "dag.yaml", "/base", 0});
}

constexpr const char* kSchema = R"(
    schema: {date: timestamp, delay: int64, origin: string}
    event-time: {field: date})";

std::string TwoSources() {
  return std::string("name: dag\nparallelism: 2\nsources:\n  first:\n    type: file\n    path: a.csv") +
         kSchema + "\n  second:\n    type: file\n    path: b.csv" + kSchema + "\n";
}

// The compile error of `spec` with `from` replaced by `to` (a test failure if it compiles).
std::string ErrorWithReplacement(std::string spec, const std::string& from, const std::string& to) {
  spec.replace(spec.find(from), from.size(), to);
  auto bad = Compile(spec);
  EXPECT_FALSE(bad.ok()) << to;
  return std::string(bad.status().message());
}

TEST(DagSpec, UnionKeyedWindowAndTwoSinks) {
  auto g = Compile(TwoSources() + R"(pipeline:
  - union: [first, second]
  - key-by: origin
  - window: {size: 1 h, aggregates: {n: count()}}
    name: hourly
  - filter: n > 10
    name: busy
sinks:
  all: {input: hourly, type: file, path: out/all}
  busy: {type: file, path: out/busy}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  // Two source vertices, the window vertex with both sinks' chains.
  ASSERT_EQ(g->vertices.size(), 3u);
  const graph::JobVertex& window = g->vertices[2];
  EXPECT_EQ(window.name, "hourly -> (busy -> Sink: busy, Sink: all)");
  ASSERT_EQ(window.inputs.size(), 2u);
  for (int e : window.inputs) {
    EXPECT_EQ(g->edge(e).partitioner, graph::PartitionerKind::kHash);
    EXPECT_EQ(g->edge(e).target_input, 0);  // a union is one logical input
  }
  EXPECT_EQ(g->vertices[0].source->uid, "first");
  EXPECT_EQ(g->vertices[1].source->uid, "second");
}

TEST(DagSpec, SideOutputOfAFilterFeedsAnotherSink) {
  auto g = Compile(R"(name: split
parallelism: 2
source: {type: file, path: a.csv, schema: {delay: int64}}
pipeline:
  - filter: delay > 0
    side-output: on-time
sinks:
  late: {type: file, path: out/late}
  ontime: {input: on-time, type: print, parallelism: 1}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->edges.size(), 1u);
  EXPECT_EQ(g->edges[0].source_output, 1);
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kRebalance);
}

TEST(DagSpec, BroadcastAndRescaleArePartitioningSteps) {
  auto g = Compile(R"(source: {type: file, path: a.csv, schema: {delay: int64}}
parallelism: 2
pipeline:
  - broadcast
  - map: {d: delay * 2}
  - rescale
sink: {type: print, parallelism: 1}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->edges.size(), 2u);
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kBroadcast);
  EXPECT_EQ(g->edges[1].partitioner, graph::PartitionerKind::kRescale);
}

// A filter reading `doubled` before the map that makes it, then the sink section `sink`.
std::string OutOfOrder(const std::string& sink) {
  return R"(source: {type: file, path: a.csv, schema: {delay: int64}}
pipeline:
  - filter: delay > 1
    input: doubled
    name: big
  - map: {delay: delay * 2}
    input: file
    name: doubled
)" + sink;
}

TEST(DagSpec, StepsMayComeInAnyOrderButNotInACycle) {
  auto any_order = Compile(OutOfOrder("sinks:\n  out: {type: print, input: big}\n"));
  ASSERT_TRUE(any_order.ok()) << any_order.status();
  ASSERT_EQ(any_order->vertices.size(), 1u);
  EXPECT_EQ(any_order->vertices[0].name, "Source: file -> doubled -> big -> Sink: out");
  // The linear form's `sink` reads the last step and takes no `input`.
  EXPECT_THAT(Compile(OutOfOrder("sink: {type: print, input: big}\n")).status().message(),
              HasSubstr("sink: unknown key 'input'"));
  auto cycle = Compile(R"(source: {type: file, path: a.csv, schema: {delay: int64}}
pipeline:
  - filter: delay > 1
    input: b
    name: a
  - filter: delay > 2
    input: a
    name: b
sinks:
  out: {type: print, input: b}
)");
  ASSERT_FALSE(cycle.ok());
  EXPECT_THAT(cycle.status().message(),
              HasSubstr("the pipeline has a cycle: step 1 'filter' (line 3) -> step 2 'filter' "
                        "(line 6) -> step 1 'filter' (line 3)"));
}

TEST(DagSpec, ErrorsNameWhatAndWhere) {
  auto unknown = Compile(TwoSources() + "pipeline:\n  - union: [first, thrid]\nsink: {type: print}\n");
  EXPECT_THAT(unknown.status().message(), HasSubstr("dag.yaml:15:20: unknown stream 'thrid'"));
  auto no_input = Compile(TwoSources() + "pipeline:\n  - filter: delay > 0\nsink: {type: print}\n");
  EXPECT_THAT(no_input.status().message(), HasSubstr("the job has 2 sources; say which one"));
  auto unused = Compile(TwoSources() + "sinks:\n  x: {input: first, type: print}\n");
  EXPECT_THAT(unused.status().message(), HasSubstr("source 'second' is not read"));
  auto both = Compile(TwoSources() + "source: {type: file}\nsink: {type: print}\n");
  EXPECT_THAT(both.status().message(), HasSubstr("either 'source' or 'sources'"));
  auto side = Compile(R"(source: {type: file, path: a.csv, schema: {delay: int64}}
pipeline:
  - map: {d: delay}
    side-output: x
sink: {type: print}
)");
  EXPECT_THAT(side.status().message(), HasSubstr("map: has no side output"));
}

TEST(DagSpec, AKeyGivenTwiceNamesBothLines) {
  auto g = Compile(R"(name: a
source: {type: file, path: a.csv, schema: {delay: int64}}
sink: {type: print}
name: b
)");
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(),
              HasSubstr("dag.yaml:4:1: key 'name' is given twice in one mapping (first at line 1, "
                        "again at line 4)"));
}

TEST(DagSpec, IntervalJoinReadsTwoInputsPartitionedByTheirOwnKeys) {
  const std::string join = R"(pipeline:
  - interval-join:
      left: {input: first, key: origin}
      right: {input: second, key: [origin]}
      between: {lower: -5 min, upper: 10 s}
    name: pairs
sink: {type: file, path: out}
)";
  auto g = Compile(TwoSources() + join);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 3u);
  const graph::JobVertex& v = g->vertices[2];
  EXPECT_EQ(v.name, "pairs -> Sink: file");
  ASSERT_EQ(v.inputs.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    const graph::JobEdge& e = g->edge(v.inputs[static_cast<size_t>(k)]);
    EXPECT_EQ(e.partitioner, graph::PartitionerKind::kHash);
    EXPECT_EQ(e.target_input, k);
    EXPECT_EQ(e.key_fields, std::vector<std::string>{"origin"});
  }
  auto error = [&](const std::string& from, const std::string& to) {
    return ErrorWithReplacement(TwoSources() + join, from, to);
  };
  EXPECT_THAT(error("lower: -5 min", "lower: 1 h"),
              HasSubstr("interval join: lower bound 3600000 ms is above upper bound 10000 ms"));
  EXPECT_THAT(error("key: [origin]", "key: [delay]"),
              HasSubstr("left key field 'origin' is string but right key field 'delay' is int64"));
  EXPECT_THAT(error("upper: 10 s", "upper: soon"), HasSubstr("interval-join: upper:"));
  EXPECT_THAT(error("      between: {lower: -5 min, upper: 10 s}\n", ""),
              HasSubstr("interval-join: 'between' must be a mapping"));
  EXPECT_THAT(error("input: second", "input: third"), HasSubstr("third"));
  EXPECT_THAT(error("    name: pairs\n", "    name: pairs\n    input: first\n"),
              HasSubstr("interval-join: names its inputs in 'left' and 'right'"));
}

TEST(DagSpec, WindowJoinTakesATumblingOrSlidingWindow) {
  const std::string join = R"(pipeline:
  - window-join:
      left: {input: first, key: origin}
      right: {input: second, key: origin}
      window: {type: sliding, size: 10 min, slide: 5 min}
sink: {type: file, path: out}
)";
  auto g = Compile(TwoSources() + join);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[2].name, "WindowJoin(600000, 300000) -> Sink: file");
  auto error = [&](const std::string& from, const std::string& to) {
    return ErrorWithReplacement(TwoSources() + join, from, to);
  };
  EXPECT_THAT(error("type: sliding", "type: session"),
              HasSubstr("window-join: unknown window type 'session' (expected tumbling or "
                        "sliding)"));
  EXPECT_THAT(error("size: 10 min, slide: 5 min", "size: 10 min, slide: 20 min"),
              HasSubstr("window-join: "));
  EXPECT_THAT(error("type: sliding, size: 10 min, slide: 5 min", "size: 10 min, slide: 5 min"),
              HasSubstr("window-join: 'slide' needs type: sliding"));
}

// State is addressed by uid: two operators with one uid (here a window's and a sink's default,
// its name) would restore each other's state, so the job is refused.
TEST(DagSpec, DuplicateUidsAreRefused) {
  auto g = Compile(TwoSources() + R"(pipeline:
  - union: [first, second]
  - key-by: origin
  - window: {size: 1 h, aggregates: {n: count()}}
    name: hourly
    uid: totals
sinks:
  totals: {input: hourly, type: file, path: out/all}
)");
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(std::string(g.status().message()),
              HasSubstr("operators 'hourly' and 'Sink: totals' have the same uid 'totals'"));
}

TEST(DagSpec, RegularJoinNeedsNoEventTimeAndTakesATtl) {
  auto g = Compile(R"(name: j
parallelism: 2
sources:
  orders: {type: file, path: a.csv, schema: {customer: int64, amount: double}}
  customers: {type: file, path: b.csv, schema: {id: int64, name: string}}
pipeline:
  - join:
      left: {input: orders, key: customer}
      right: {input: customers, key: id}
      ttl: 1 d
sink: {type: file, path: out}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[2].name, "Join(ttl=86400000) -> Sink: file");
  EXPECT_EQ(g->vertices[2].inputs.size(), 2u);
  auto bad = Compile(R"(name: j
sources:
  orders: {type: file, path: a.csv, schema: {customer: int64}}
  customers: {type: file, path: b.csv, schema: {id: int64}}
pipeline:
  - join:
      left: {input: orders, key: customer}
      right: {input: customers, key: id}
      between: {lower: 0 s, upper: 1 s}
sink: {type: file, path: out}
)");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("join: unknown key 'between' (expected one of: left, right, right-prefix, "
                        "ttl, type)"));
}

}  // namespace
}  // namespace sluice::job
