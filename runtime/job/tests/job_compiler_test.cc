#include "runtime/job/job_compiler.h"

#include "gtest/gtest.h"

namespace sluice::job {
namespace {

// The example's shape; tests replace pieces of it to make one mistake each.
constexpr const char* kSpec = R"(name: flight-delays
parallelism: 2
source:
  name: flights
  type: file
  path: data/flights.csv.gz
  schema:
    date: timestamp
    delay: int64
    distance: int64
    origin: string
    destination: string
  event-time:
    field: date
    max-out-of-orderness: 1 min
pipeline:
  - filter: "delay > -60"
  - key-by: [origin]
  - window:
      size: 1 h
      aggregates:
        flights: count()
        avg_delay: avg(delay)
        max_delay: max(delay)
sink:
  name: delays
  type: file
  path: out
)";

absl::StatusOr<graph::JobGraph> Compile(const std::string& yaml, int parallelism = 0) {
  return CompileJob(JobSubmission{yaml, "job.yaml", "/base", parallelism});
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

std::string ErrorOf(const std::string& yaml) {
  auto g = Compile(yaml);
  EXPECT_FALSE(g.ok());
  return g.ok() ? "" : std::string(g.status().message());
}

TEST(JobCompiler, BuildsChainedVerticesWithHashEdge) {
  auto g = Compile(kSpec);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->name, "flight-delays");
  ASSERT_EQ(g->vertices.size(), 2u);
  EXPECT_EQ(g->vertices[0].name, "Source: flights -> Filter");
  EXPECT_EQ(g->vertices[1].name, "Window(TumblingEventTimeWindows(3600000)) -> Sink: delays");
  EXPECT_EQ(g->vertices[0].parallelism, 2);
  EXPECT_EQ(g->max_parallelism, 128);
  ASSERT_EQ(g->edges.size(), 1u);
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kHash);
  EXPECT_EQ(g->edges[0].key_fields, std::vector<std::string>{"origin"});
  EXPECT_EQ(g->vertices[1].operators[0].output_schema->HeaderLine(),
            "origin,window_start,window_end,flights,avg_delay,max_delay");
  EXPECT_EQ(g->vertices[0].id.size(), 32u);
  EXPECT_NE(g->vertices[0].id, g->vertices[1].id);
  EXPECT_EQ(g->RequiredSlots(), 2);
}

TEST(JobCompiler, ParallelismOverrideAndSourceParallelismInsertsRebalance) {
  auto g = Compile(kSpec, 4);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->vertices[1].parallelism, 4);
  auto g2 = Compile(Replace(kSpec, "  type: file\n  path: data", "  type: file\n  parallelism: 1\n  path: data"));
  ASSERT_TRUE(g2.ok()) << g2.status();
  ASSERT_EQ(g2->vertices.size(), 3u);
  EXPECT_EQ(g2->vertices[0].parallelism, 1);
  EXPECT_EQ(g2->edges[0].partitioner, graph::PartitionerKind::kRebalance);
  EXPECT_EQ(g2->vertices[1].name, "Filter");
}

TEST(JobCompiler, UnknownFieldInExpressionPointsAtIt) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "delay > -60", "delays > -60")),
            "job.yaml:17:14: filter 'delays > -60': unknown field 'delays' (fields: date, "
            "delay, distance, origin, destination)");
}

TEST(JobCompiler, TypeMismatchInExpression) {
  std::string msg = ErrorOf(Replace(kSpec, "delay > -60", "origin > 5"));
  EXPECT_EQ(msg.rfind("job.yaml:17:", 0), 0u) << msg;
  EXPECT_NE(msg.find("filter 'origin > 5'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("string"), std::string::npos) << msg;
}

TEST(JobCompiler, NonBoolFilter) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "delay > -60", "delay + 1")),
            "job.yaml:17:13: filter 'delay + 1': must be a bool expression, is int64");
}

TEST(JobCompiler, UnknownOperator) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"", "  - flatten: x")),
            "job.yaml:17:5: pipeline step 1: unknown operator 'flatten' (expected filter, map, "
            "project, flat-map, key-by, window, deduplicate, lookup-join, aggregate, "
            "interval-join, window-join, join, process, top-n, over, rebalance, broadcast, rescale, "
            "union)");
}

TEST(JobCompiler, MissingKeyByBeforeWindow) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - key-by: [origin]\n", "")),
            "job.yaml:18:5: window: missing key: a window needs a key-by step before it");
}

TEST(JobCompiler, UnknownKeyField) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "[origin]", "[airport]")),
            "job.yaml:18:13: key-by: unknown key field 'airport' (fields: date, delay, distance, "
            "origin, destination)");
}

TEST(JobCompiler, MissingRequiredKeysAndUnknownKeys) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  path: data/flights.csv.gz\n", "")),
            "job.yaml:4:3: source: missing required key 'path'");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "parallelism: 2", "paralelism: 2")),
            "job.yaml:2:1: job: unknown key 'paralelism' (expected one of: checkpointing, "
            "max-parallelism, name, parallelism, pipeline, restart-strategy, sink, sinks, "
            "source, sources, state)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  type: file\n  path: out\n", "  path: out\n")),
            "job.yaml:26:3: sink: missing required key 'type'");
}

TEST(JobCompiler, BadTypesDurationsAndAggregates) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "delay: int64", "delay: integer32")),
            "job.yaml:9:12: source: field 'delay' has unknown type 'integer32' (expected int64, "
            "double, string, bool or timestamp)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "size: 1 fortnight")),
            "job.yaml:20:13: window: duration '1 fortnight' has unknown unit 'fortnight' (use ms, "
            "s, min, h or d)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "avg(delay)", "median(delay)")),
            "job.yaml:23:20: window: aggregate 'avg_delay': unknown function 'median' (expected "
            "count, sum, min, max, avg, first, last, stddev_pop, stddev_samp, var_pop, var_samp, "
            "count_distinct, collect_list)");
  std::string msg = ErrorOf(Replace(kSpec, "avg(delay)", "avg(origin)"));
  EXPECT_NE(msg.find("avg needs an int64 or double field, 'origin' is string"), std::string::npos)
      << msg;
}

TEST(JobCompiler, SlidingAndCumulateWindows) {
  auto g = Compile(Replace(kSpec, "size: 1 h", "type: hop\n      size: 1 h\n      slide: 15 min"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[1].name,
            "Window(SlidingEventTimeWindows(3600000, 900000)) -> Sink: delays");
  EXPECT_TRUE(Compile(Replace(kSpec, "size: 1 h", "type: cumulate\n      size: 1 h\n      step: 10 min")).ok());
  EXPECT_TRUE(Compile(Replace(kSpec, "size: 1 h", "size: 1 h\n      allowed-lateness: 5 min")).ok());
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "size: 1 h\n      allowed-lateness: soon")),
            "job.yaml:21:25: window: duration 'soon' must start with a non-negative integer");

  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "type: session-ish\n      size: 1 h")),
            "job.yaml:20:13: window: unknown type 'session-ish' (types: tumbling, sliding (or "
            "hop), cumulate, session)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "size: 1 h\n      slide: 1 min")),
            "job.yaml:21:14: window: 'slide' does not apply to a tumbling window (use type: "
            "sliding or cumulate)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "type: sliding\n      size: 1 h")),
            "job.yaml:20:7: window: missing required key 'slide'");
  std::string msg = ErrorOf(Replace(kSpec, "size: 1 h", "type: cumulate\n      size: 1 h\n      step: 7 min"));
  EXPECT_NE(msg.find("cumulate window size (3600000 ms) must be a multiple of its step (420000 ms)"),
            std::string::npos) << msg;
}

TEST(JobCompiler, SessionWindowsTakeAGap) {
  auto g = Compile(Replace(kSpec, "size: 1 h", "type: session\n      gap: 30 min"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[1].name, "Window(EventTimeSessionWindows(1800000)) -> Sink: delays");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "type: session\n      size: 1 h")),
            "job.yaml:21:13: window: a session window has no 'size'; it closes after 'gap' "
            "without rows");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "type: session")),
            "job.yaml:20:7: window: missing required key 'gap'");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "type: session\n      gap: 0 s")),
            "job.yaml:21:12: window: gap must be positive");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "size: 1 h\n      gap: 5 min")),
            "job.yaml:21:12: window: 'gap' applies to session windows (type: session)");
}

TEST(JobCompiler, ProcessingTimeWindowsNeedNoEventTime) {
  const std::string no_event_time =
      Replace(kSpec, "  event-time:\n    field: date\n    max-out-of-orderness: 1 min\n", "");
  auto g = Compile(Replace(no_event_time, "size: 1 h", "time: processing\n      size: 1 h"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[1].name, "Window(TumblingProcessingTimeWindows(3600000)) -> Sink: delays");
  EXPECT_EQ(ErrorOf(no_event_time),
            "job.yaml:16:5: window: event-time windows need 'event-time' declared on every source "
            "they read (or use time: processing)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "size: 1 h", "time: wall\n      size: 1 h")),
            "job.yaml:20:13: window: unknown time 'wall' (expected event or processing)");
}

TEST(JobCompiler, LookupJoinEnrichesFromAFileTable) {
  const std::string join =
      "  - lookup-join:\n"
      "      table: {path: airports.csv, schema: {iata: string, state: string}}\n"
      "      on: {origin: iata}\n"
      "      select: {origin_state: state}\n";
  auto g = Compile(Replace(kSpec, "  - filter: \"delay > -60\"\n", join));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[0].name, "Source: flights -> LookupJoin(table=[airports.csv], type=inner)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                            Replace(join, "select: {origin_state: state}",
                                    "select: {origin_state: st}"))),
            "job.yaml:18:7: lookup join: unknown table field 'st' (table fields: iata, state)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                            Replace(join, "on: {origin: iata}", "on: {delay: iata}"))),
            "job.yaml:18:7: lookup join: stream field 'delay' is int64 but table field 'iata' "
            "is string; key fields must have the same type");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                            Replace(join, "      on: {origin: iata}\n", ""))),
            "job.yaml:18:7: lookup-join: 'on' must map stream fields to table fields");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                            Replace(join, "state: string}}", "state: strin}}"))),
            "job.yaml:18:65: lookup-join table: field 'state' has unknown type 'strin' (expected "
            "int64, double, string, bool or timestamp)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                            join + "      type: outer\n")),
            "job.yaml:21:13: lookup-join: unknown type 'outer' (expected inner or left)");
}

TEST(JobCompiler, RollingAggregateAfterKeyBy) {
  const std::string window =
      "  - window:\n      size: 1 h\n      aggregates:\n        flights: count()\n"
      "        avg_delay: avg(delay)\n        max_delay: max(delay)\n";
  auto g = Compile(Replace(kSpec, window,
                           "  - aggregate: {aggregates: {flights: count()}, ttl: 1 d}\n"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[1].name, "Aggregate -> Sink: delays");
  EXPECT_EQ(ErrorOf(Replace(kSpec, window, "  - aggregate: {aggregates: {n: median(delay)}}\n")),
            "job.yaml:19:33: aggregate: aggregate 'n': unknown function 'median' (expected count, "
            "sum, min, max, avg, first, last, stddev_pop, stddev_samp, var_pop, var_samp, "
            "count_distinct, collect_list)");
}

TEST(JobCompiler, DeduplicateAfterKeyBy) {
  const std::string window =
      "  - window:\n      size: 1 h\n      aggregates:\n        flights: count()\n"
      "        avg_delay: avg(delay)\n        max_delay: max(delay)\n";
  auto g = Compile(Replace(kSpec, window, "  - deduplicate: {ttl: 1 h}\n"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[1].name, "Deduplicate -> Sink: delays");
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kHash);
  EXPECT_EQ(g->vertices[1].operators[0].output_schema->HeaderLine(),
            "date,delay,distance,origin,destination");
  EXPECT_TRUE(Compile(Replace(kSpec, window, "  - deduplicate:\n")).ok());
  EXPECT_EQ(ErrorOf(Replace(kSpec, window, "  - deduplicate: {keep: newest}\n")),
            "job.yaml:19:25: deduplicate: unknown keep 'newest' (expected first or last)");
  EXPECT_EQ(ErrorOf(Replace(Replace(kSpec, window, "  - deduplicate:\n"), "  - key-by: [origin]\n",
                            "")),
            "job.yaml:18:5: deduplicate: missing key: deduplicate needs a key-by step before it");
}

TEST(JobCompiler, FlatMapSplitsAStringField) {
  auto g = Compile(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                           "  - flat-map: {split: destination, delimiter: \"/\", as: stop}\n"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[0].name, "Source: flights -> FlatMap(split)");
  ASSERT_EQ(g->edges.size(), 1u);
  EXPECT_EQ(g->edges[0].schema->HeaderLine(), "date,delay,distance,origin,destination,stop");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                            "  - flat-map: {split: delay, as: d}\n")),
            "job.yaml:17:15: flat-map: split: field 'delay' is int64, expected string");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                            "  - flat-map: {split: origin}\n")),
            "job.yaml:17:15: flat-map: missing required key 'as'");
}

TEST(JobCompiler, FileSourceBadRecords) {
  EXPECT_TRUE(Compile(Replace(kSpec, "  path: data/flights.csv.gz\n",
                              "  path: data/flights.csv.gz\n  bad-records: skip\n")).ok());
  EXPECT_TRUE(Compile(Replace(kSpec, "  path: data/flights.csv.gz\n",
                              "  path: data/flights.csv.gz\n  bad-records: dead-letter\n"
                              "  dead-letter: {path: bad}\n")).ok());
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  path: data/flights.csv.gz\n",
                            "  path: data/flights.csv.gz\n  bad-records: dead-letter\n")),
            "job.yaml:7:16: source: bad-records: dead-letter needs 'dead-letter: {path: "
            "<directory>}'");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  path: data/flights.csv.gz\n",
                            "  path: data/flights.csv.gz\n  bad-records: ignore\n")),
            "job.yaml:7:16: source: unknown bad-records 'ignore' (expected fail, skip or "
            "dead-letter)");
}

TEST(JobCompiler, ParallelismAboveMaxParallelismIsRefused) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "parallelism: 2", "parallelism: 8\nmax-parallelism: 4")),
            "job.yaml:3:18: job: parallelism 8 is above max parallelism 4 (the number of key "
            "groups)");
}

// Per-operator parallelism (Flink's setParallelism): `parallelism:` beside the operator key.
// A change of parallelism starts a vertex behind a rebalance edge (hash behind key-by); equal
// parallelism chains over a forward edge; operators without one get the job's parallelism.
TEST(JobCompiler, OperatorParallelismSplitsVerticesAndPicksTheEdge) {
  // source 1 -> filter (job parallelism 2): rebalance; window 3: hash; sink 2: rebalance.
  const std::string spec =
      Replace(Replace(Replace(kSpec, "  type: file\n  path: data",
                              "  type: file\n  parallelism: 1\n  path: data"),
                      "        max_delay: max(delay)\n",
                      "        max_delay: max(delay)\n    parallelism: 3\n"),
              "  path: out\n", "  path: out\n  parallelism: 2\n");
  auto g = Compile(spec);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 4u);
  EXPECT_EQ(g->vertices[0].name, "Source: flights");
  EXPECT_EQ(g->vertices[1].name, "Filter");
  EXPECT_EQ(g->vertices[2].name, "Window(TumblingEventTimeWindows(3600000))");
  EXPECT_EQ(g->vertices[3].name, "Sink: delays");
  std::vector<int> parallelism;
  for (const auto& v : g->vertices) parallelism.push_back(v.parallelism);
  EXPECT_EQ(parallelism, (std::vector<int>{1, 2, 3, 2}));
  ASSERT_EQ(g->edges.size(), 3u);
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kRebalance);
  EXPECT_EQ(g->edges[1].partitioner, graph::PartitionerKind::kHash);
  EXPECT_EQ(g->edges[1].key_fields, std::vector<std::string>{"origin"});
  EXPECT_EQ(g->edges[2].partitioner, graph::PartitionerKind::kRebalance);
  EXPECT_TRUE(g->edges[2].key_fields.empty());
  // The sink's vertex reads what the window writes.
  EXPECT_EQ(g->edge(g->vertices[3].inputs[0]).schema->HeaderLine(),
            "origin,window_start,window_end,flights,avg_delay,max_delay");
  for (const auto& v : g->vertices) EXPECT_EQ(v.max_parallelism, 128);
  EXPECT_EQ(g->RequiredSlots(), 3);
  EXPECT_EQ(g->TotalSubtasks(), 8);
}

TEST(JobCompiler, EqualOperatorParallelismChainsOverForwardEdges) {
  // Explicit parallelism equal to the job's changes nothing: the example's two vertices.
  auto same = Compile(Replace(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                                      "  - filter: \"delay > -60\"\n    parallelism: 2\n"),
                              "  path: out\n", "  path: out\n  parallelism: 2\n"));
  ASSERT_TRUE(same.ok()) << same.status();
  ASSERT_EQ(same->vertices.size(), 2u);
  EXPECT_EQ(same->vertices[0].name, "Source: flights -> Filter");
  EXPECT_EQ(same->vertices[1].name, "Window(TumblingEventTimeWindows(3600000)) -> Sink: delays");
  // filter, map and project at 3 after a source at 3 (job parallelism 2): one chain, then the
  // window at the job's parallelism behind the hash edge.
  const std::string spec =
      Replace(Replace(kSpec, "  type: file\n  path: data",
                      "  type: file\n  parallelism: 3\n  path: data"),
              "  - filter: \"delay > -60\"\n",
              "  - filter: \"delay > -60\"\n    parallelism: 3\n"
              "  - map: {origin: origin, delay: delay, date: date}\n    parallelism: 3\n"
              "    name: Trim\n"
              "  - project: [date, origin, delay]\n    parallelism: 3\n");
  auto g = Compile(spec);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 2u);
  EXPECT_EQ(g->vertices[0].name, "Source: flights -> Filter -> Trim -> Project");
  EXPECT_EQ(g->vertices[0].parallelism, 3);
  EXPECT_EQ(g->vertices[1].parallelism, 2);
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kHash);
  // A project at another parallelism in the middle of that chain splits it twice.
  auto split = Compile(Replace(spec, "  - project: [date, origin, delay]\n    parallelism: 3\n",
                               "  - project: [date, origin, delay]\n    parallelism: 1\n"));
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->vertices.size(), 3u);
  EXPECT_EQ(split->vertices[0].name, "Source: flights -> Filter -> Trim");
  EXPECT_EQ(split->vertices[1].name, "Project");
  EXPECT_EQ(split->vertices[1].parallelism, 1);
  EXPECT_EQ(split->edges[0].partitioner, graph::PartitionerKind::kRebalance);
  EXPECT_EQ(split->edges[1].partitioner, graph::PartitionerKind::kHash);
}

TEST(JobCompiler, SourceParallelismBeforeKeyByNeedsNoExtraVertex) {
  // The source at 1, everything else at the job's 2: the key-by's hash edge is the only one.
  auto g = Compile(Replace(Replace(kSpec, "  type: file\n  path: data",
                                   "  type: file\n  parallelism: 1\n  path: data"),
                           "  - filter: \"delay > -60\"\n", ""));
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 2u);
  EXPECT_EQ(g->vertices[0].name, "Source: flights");
  EXPECT_EQ(g->vertices[0].parallelism, 1);
  EXPECT_EQ(g->vertices[1].parallelism, 2);
  ASSERT_EQ(g->edges.size(), 1u);
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kHash);
}

TEST(JobCompiler, RebalanceStepEdges) {
  // rebalance at equal parallelism still breaks the chain; the operator after it may set the
  // new vertex's parallelism; a key-by after a rebalance gives one hash edge (last one wins).
  auto g = Compile(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                           "  - rebalance\n  - filter: \"delay > -60\"\n    parallelism: 4\n"));
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 3u);
  EXPECT_EQ(g->vertices[1].name, "Filter");
  EXPECT_EQ(g->vertices[1].parallelism, 4);
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kRebalance);
  EXPECT_EQ(g->edges[1].partitioner, graph::PartitionerKind::kHash);
  auto before_key_by = Compile(Replace(kSpec, "  - key-by", "  - rebalance\n  - key-by"));
  ASSERT_TRUE(before_key_by.ok()) << before_key_by.status();
  ASSERT_EQ(before_key_by->vertices.size(), 2u);
  EXPECT_EQ(before_key_by->edges[0].partitioner, graph::PartitionerKind::kHash);
  // A trailing rebalance puts the sink in its own vertex.
  auto trailing = Compile(std::string(kSpec).insert(std::string(kSpec).find("sink:"),
                                                    "  - rebalance\n"));
  ASSERT_TRUE(trailing.ok()) << trailing.status();
  ASSERT_EQ(trailing->vertices.size(), 3u);
  EXPECT_EQ(trailing->vertices[2].name, "Sink: delays");
  EXPECT_EQ(trailing->edges[1].partitioner, graph::PartitionerKind::kRebalance);
}

TEST(JobCompiler, CliParallelismIsTheDefaultExplicitOperatorParallelismWins) {
  // As in Flink: --parallelism (and sluice rescale -p) replaces the job's default parallelism;
  // an operator's own `parallelism:` keeps its value.
  const std::string spec =
      Replace(Replace(kSpec, "        max_delay: max(delay)\n",
                      "        max_delay: max(delay)\n    parallelism: 3\n"),
              "  type: file\n  path: data", "  type: file\n  parallelism: 1\n  path: data");
  auto g = Compile(spec, 5);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->parallelism, 5);
  ASSERT_EQ(g->vertices.size(), 4u);
  std::vector<int> parallelism;
  for (const auto& v : g->vertices) parallelism.push_back(v.parallelism);
  EXPECT_EQ(parallelism, (std::vector<int>{1, 5, 3, 5}));
  // Another default with the same chaining: the same vertices (ids come from the operators'
  // uids); only those without an explicit parallelism change.
  auto g4 = Compile(spec, 4);
  ASSERT_TRUE(g4.ok()) << g4.status();
  ASSERT_EQ(g4->vertices.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(g4->vertices[i].id, g->vertices[i].id) << i;
  parallelism.clear();
  for (const auto& v : g4->vertices) parallelism.push_back(v.parallelism);
  EXPECT_EQ(parallelism, (std::vector<int>{1, 4, 3, 4}));
  // At -p 3 the window's parallelism equals the default: it chains with the sink.
  auto g3 = Compile(spec, 3);
  ASSERT_TRUE(g3.ok()) << g3.status();
  ASSERT_EQ(g3->vertices.size(), 3u);
  EXPECT_EQ(g3->vertices[2].name, "Window(TumblingEventTimeWindows(3600000)) -> Sink: delays");
}

TEST(JobCompiler, InvalidOperatorParallelismIsRefusedWithItsLocation) {
  auto window_par = [](const std::string& value) {
    return Replace(kSpec, "        max_delay: max(delay)\n",
                   "        max_delay: max(delay)\n    parallelism: " + value + "\n");
  };
  EXPECT_EQ(ErrorOf(window_par("0")),
            "job.yaml:25:18: window (uid 'window-3'): parallelism 0 must be at least 1");
  EXPECT_EQ(ErrorOf(window_par("-2")),
            "job.yaml:25:18: window (uid 'window-3'): parallelism -2 must be at least 1");
  EXPECT_EQ(ErrorOf(window_par("many")),
            "job.yaml:25:18: window (uid 'window-3'): 'parallelism' must be an integer, found "
            "'many'");
  EXPECT_EQ(ErrorOf(window_par("2.5")),
            "job.yaml:25:18: window (uid 'window-3'): 'parallelism' must be an integer, found "
            "'2.5'");
  EXPECT_EQ(ErrorOf(window_par("[3]")),
            "job.yaml:25:18: window (uid 'window-3'): 'parallelism' must be an integer, found "
            "'a collection'");
  EXPECT_EQ(ErrorOf(window_par("200")),
            "job.yaml:25:18: window (uid 'window-3'): parallelism 200 is above max parallelism "
            "128 (the number of key groups)");
  // The explicit max-parallelism bounds it too, whatever the job parallelism; an explicit uid
  // names the operator.
  EXPECT_EQ(ErrorOf(Replace(Replace(window_par("5"), "parallelism: 2\n",
                                    "parallelism: 2\nmax-parallelism: 4\n"),
                            "    parallelism: 5\n",
                            "    parallelism: 5\n    uid: delays-by-hour\n")),
            "job.yaml:26:18: window (uid 'delays-by-hour'): parallelism 5 is above max "
            "parallelism 4 (the number of key groups)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - filter: \"delay > -60\"\n",
                            "  - filter: \"delay > -60\"\n    parallelism: 0\n")),
            "job.yaml:18:18: filter (uid 'filter-1'): parallelism 0 must be at least 1");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  path: out\n", "  path: out\n  parallelism: 129\n")),
            "job.yaml:29:16: sink (uid 'sink'): parallelism 129 is above max parallelism 128 "
            "(the number of key groups)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  type: file\n  path: data",
                            "  type: file\n  parallelism: 0\n  path: data")),
            "job.yaml:6:16: source: parallelism 0 must be at least 1");
}

TEST(JobCompiler, ParallelismOnPartitioningStepsIsRefused) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - key-by: [origin]\n",
                            "  - key-by: [origin]\n    parallelism: 3\n")),
            "job.yaml:19:18: key-by: 'parallelism' belongs on the window after it (key-by is a "
            "partitioning, not an operator)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  - key-by",
                            "  - rebalance: ~\n    parallelism: 3\n  - key-by")),
            "job.yaml:19:18: rebalance: 'parallelism' belongs on the operator after it "
            "(rebalance is a partitioning, not an operator)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "      size: 1 h\n", "      size: 1 h\n      parallelism: 3\n")),
            "job.yaml:21:20: window: 'parallelism' goes beside 'window:' in the step (like name "
            "and uid), not inside the window");
}

TEST(JobCompiler, StateBackendSettings) {
  auto g = Compile(std::string(kSpec) +
                   "state:\n  backend: rocksdb\n  local-dir: rocks\n  rocksdb:\n"
                   "    block-cache-size: 8 mb\n    write-buffer-size: 1024\n");
  ASSERT_TRUE(g.ok()) << g.status();
  const graph::StateBackendConfig& b = g->config.state_backend;
  EXPECT_EQ(b.kind, graph::StateBackendKind::kRocksDb);
  EXPECT_EQ(b.local_dir, "/base/rocks");
  EXPECT_EQ(b.rocksdb_block_cache_bytes, 8388608);
  EXPECT_EQ(b.rocksdb_write_buffer_bytes, 1024);
  EXPECT_TRUE(b.rocksdb_timers);
  auto heap_timers = Compile(std::string(kSpec) +
                             "state:\n  backend: rocksdb\n  rocksdb:\n    timer-service: heap\n");
  ASSERT_TRUE(heap_timers.ok()) << heap_timers.status();
  EXPECT_FALSE(heap_timers->config.state_backend.rocksdb_timers);
  EXPECT_EQ(ErrorOf(std::string(kSpec) + "state:\n  rocksdb:\n    timer-service: disk\n"),
            "job.yaml:31:20: state.rocksdb: 'timer-service' must be rocksdb or heap, found "
            "'disk'");
  EXPECT_EQ(ErrorOf(std::string(kSpec) + "state:\n  backend: leveldb\n"),
            "job.yaml:30:12: state: unknown backend 'leveldb' (expected heap or rocksdb)");
  std::string msg = ErrorOf(std::string(kSpec) +
                            "state:\n  rocksdb:\n    block-cache-size: lots\n");
  EXPECT_NE(msg.find("'block-cache-size' must be a size like 64 mb, found 'lots'"),
            std::string::npos) << msg;
}

TEST(JobCompiler, IncrementalCheckpointsDefaultOnWithRocksDb) {
  auto on = Compile(std::string(kSpec) + "state:\n  backend: rocksdb\n");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->config.state_backend.incremental);
  auto off = Compile(std::string(kSpec) + "state:\n  backend: rocksdb\n  incremental: false\n");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->config.state_backend.incremental);
  auto heap = Compile(std::string(kSpec) + "state:\n  backend: heap\n");
  ASSERT_TRUE(heap.ok()) << heap.status();
  EXPECT_FALSE(heap->config.state_backend.incremental);
  EXPECT_EQ(ErrorOf(std::string(kSpec) + "state:\n  incremental: true\n"),
            "job.yaml:30:16: state: incremental checkpoints need backend: rocksdb (the heap "
            "backend always takes full snapshots)");
  EXPECT_EQ(ErrorOf(std::string(kSpec) + "state:\n  backend: rocksdb\n  incremental: maybe\n"),
            "job.yaml:31:16: state: 'incremental' must be true or false");
}

TEST(JobCompiler, KafkaSource) {
  const std::string kafka =
      "name: k\nsource:\n  type: kafka\n  bootstrap-servers: 127.0.0.1:9092\n"
      "  topic: flights\n  stop-at: latest\n  schema: {origin: string, delay: int64}\n"
      "pipeline:\n  - filter: delay > 0\nsink:\n  type: print\n";
  auto g = Compile(kafka);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[0].source->name, "Source: kafka");
  EXPECT_EQ(ErrorOf(Replace(kafka, "  topic: flights\n", "")),
            "job.yaml:3:3: source: give exactly one of 'topic', 'topics' (a list) or 'pattern'");
  EXPECT_EQ(ErrorOf(Replace(kafka, "stop-at: latest", "stop-at: never")),
            "job.yaml:6:12: source: 'stop-at' must be 'latest' (bounded read)");
  EXPECT_EQ(ErrorOf(Replace(kafka, "  stop-at: latest\n", "  bad-records: dead-letter\n")),
            "job.yaml:6:16: source: bad-records: dead-letter needs a 'dead-letter: {topic: ...}' "
            "section naming the topic bad records go to");
  const std::string dlq = Replace(kafka, "  stop-at: latest\n",
                                  "  bad-records: dead-letter\n  dead-letter: {topic: bad}\n");
  EXPECT_TRUE(Compile(dlq).ok()) << ErrorOf(dlq);
  EXPECT_EQ(ErrorOf(Replace(dlq, "{topic: bad}", "{topik: bad}")),
            "job.yaml:7:17: source.dead-letter: unknown key 'topik' (expected one of: "
            "bootstrap-servers, properties, topic)");
  EXPECT_EQ(ErrorOf(Replace(dlq, "bad-records: dead-letter", "bad-records: skip")),
            "job.yaml:7:16: source: 'dead-letter' is only used with bad-records: dead-letter");
}

TEST(JobCompiler, KafkaSink) {
  const std::string kafka =
      "name: k\nsource:\n  type: kafka\n  bootstrap-servers: 127.0.0.1:9092\n"
      "  topic: flights\n  schema: {origin: string, delay: int64}\n"
      "pipeline:\n  - filter: delay > 0\nsink:\n  type: kafka\n  bootstrap-servers: 127.0.0.1:9092\n"
      "  topic: late\n  format: json\n  key: origin\n  delivery: exactly-once\n"
      "  transactional-id-prefix: late-flights\n";
  auto g = Compile(kafka);
  ASSERT_TRUE(g.ok()) << g.status();
  const auto& ops = g->vertices.back().operators;
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops.back().name, "Sink: kafka");
  auto sink = ops.back().factory();
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_EQ(ErrorOf(Replace(kafka, "  transactional-id-prefix: late-flights\n", "")),
            "job.yaml:10:3: sink: delivery: exactly-once needs 'transactional-id-prefix' (unique "
            "per sink among all jobs writing to the cluster, as in Flink)");
  EXPECT_EQ(ErrorOf(Replace(kafka, "key: origin", "key: airport")),
            "job.yaml:14:8: sink: key field 'airport' is not in the records (origin:string, "
            "delay:int64)");
  EXPECT_EQ(ErrorOf(Replace(kafka, "delivery: exactly-once", "delivery: twice")),
            "job.yaml:15:13: sink: kafka sink: delivery 'twice' is not one of none, "
            "at-least-once, exactly-once");
  EXPECT_EQ(ErrorOf(Replace(kafka, "format: json", "format: avro-confluent")),
            "job.yaml:10:3: sink: format avro-confluent needs 'schema-registry: {url: "
            "http://...}'");
  EXPECT_EQ(ErrorOf(Replace(kafka, "format: json", "format: json\n  schema-registry: {url: x}")),
            "job.yaml:14:20: sink: 'schema-registry' is only used with format: avro-confluent");
  EXPECT_EQ(ErrorOf(Replace(kafka, "format: json",
                            "format: avro-confluent\n  schema-registry: {url: reg:8081}")),
            "job.yaml:14:26: sink.schema-registry: 'url' must start with http:// or https://, "
            "found 'reg:8081'");
  EXPECT_EQ(ErrorOf(Replace(kafka, "format: json",
                            "format: avro-confluent\n  schema-registry: {url: http://r, id: 3}")),
            "job.yaml:14:36: sink.schema-registry: unknown key 'id' (expected one of: "
            "basic-auth-user-info, subject, url)");
  EXPECT_EQ(ErrorOf(Replace(kafka, "format: json", "format: raw")),
            "job.yaml:13:11: sink: format raw writes one string field, but the records have 2 "
            "field(s): origin:string, delay:int64");
  EXPECT_EQ(ErrorOf(Replace(kafka, "  topic: late\n", "  path: late\n")),
            "job.yaml:12:3: sink: unknown key 'path' (expected one of: bootstrap-servers, "
            "delimiter, delivery, format, key, name, parallelism, partitioner, properties, "
            "schema-registry, topic, transactional-id-pool-size, transactional-id-prefix, type, "
            "uid, upsert)");
  EXPECT_EQ(ErrorOf(Replace(kafka, "delivery: exactly-once", "delivery: exactly-once\n  "
                            "properties: {transactional.id: x}")),
            "job.yaml:16:15: sink: property 'transactional.id' is set by the sink; give "
            "'transactional-id-prefix' with delivery: exactly-once");
}

TEST(JobCompiler, YamlSyntaxError) {
  std::string msg = ErrorOf("name: [unclosed\n");
  EXPECT_EQ(msg.rfind("job.yaml:", 0), 0u) << msg;
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
}

TEST(JobCompiler, RelativePathsResolveAgainstBaseDir) {
  // Indirect check: the compiled graph builds; the source factory keeps the resolved path, which
  // the file connector tests exercise. Here: an absolute path stays absolute.
  EXPECT_TRUE(Compile(Replace(kSpec, "data/flights.csv.gz", "/abs/flights.csv")).ok());
}

}  // namespace
}  // namespace sluice::job
