// Job specs with `source: {type: datagen}` (runtime/connectors/datagen): compiled graphs that
// generate the declared rows, and refusals that name the key and its line:column.

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/time_format.h"
#include "runtime/job/job_compiler.h"

namespace sluice::job {
namespace {

using ::testing::HasSubstr;

// Line numbers in the error tests refer to this text (line 1 is "name: ...").
constexpr const char* kSpec = R"(name: datagen-job
parallelism: 2
source:
  type: datagen
  rows-per-second: 0
  number-of-rows: 1000
  batch-size: 64
  schema:
    id: int64
    name: string
    v: double
    ts: timestamp
  fields:
    id: {kind: sequence, start: 0, end: 9999999}
    name: {kind: random, length: 12}
    v: {kind: random, min: 0, max: 1000}
    ts: {kind: sequence, start: 2024-01-01T00:00:00Z, end: 2024-12-31T00:00:00Z}
  event-time: {field: ts, max-out-of-orderness: 1 s}
pipeline:
  - key-by: [id]
  - window:
      size: 1 min
      aggregates:
        n: count()
        total: sum(v)
sink:
  type: file
  path: out
)";

absl::StatusOr<graph::JobGraph> Compile(const std::string& yaml) {
  return CompileJob(JobSubmission{yaml, "job.yaml", "/base", 0});
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return pos == std::string::npos ? s : s.replace(pos, from.size(), to);
}

std::string ErrorOf(const std::string& yaml) {
  auto g = Compile(yaml);
  EXPECT_FALSE(g.ok());
  if (!g.ok()) {
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  }
  return g.ok() ? "" : std::string(g.status().message());
}

class Collect : public api::Output {
 public:
  explicit Collect(core::SchemaPtr schema) : rows(std::move(schema)) {}
  absl::Status Emit(const core::RecordBatch& batch) override {
    for (size_t r = 0; r < batch.num_rows(); ++r) rows.AppendRowFrom(batch, r);
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t wm) override {
    watermarks.push_back(wm);
    return absl::OkStatus();
  }
  core::RecordBatch rows;
  std::vector<int64_t> watermarks;
};

// Runs source subtask `index` of the compiled graph to its end (at most `max_polls` polls).
absl::StatusOr<bool> RunSource(const graph::JobGraph& g, int index, Collect* out,
                               int max_polls = 100000) {
  const graph::JobVertex& v = g.vertices[0];
  auto source = v.source->factory();
  if (!source.ok()) return source.status();
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = v.parallelism;
  absl::Status s = (*source)->Open(ctx);
  if (!s.ok()) return s;
  for (int k = 0; k < max_polls; ++k) {
    auto more = (*source)->PollNext(*out);
    if (!more.ok()) return more.status();
    if (!*more) return true;
  }
  return false;
}

TEST(DatagenSpec, CompilesAKeyedWindowOverADatagenSource) {
  auto g = Compile(kSpec);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 2u);
  EXPECT_EQ(g->vertices[0].name, "Source: datagen");
  EXPECT_EQ(g->vertices[0].source->uid, "source");
  EXPECT_EQ(g->vertices[0].source->output_schema->HeaderLine(), "id,name,v,ts");
  EXPECT_EQ(g->vertices[1].operators[0].output_schema->HeaderLine(), "id,window_start,window_end,n,total");
  ASSERT_EQ(g->edges.size(), 1u);
  EXPECT_EQ(g->edges[0].partitioner, graph::PartitionerKind::kHash);
}

TEST(DatagenSpec, CompiledSourceGeneratesTheDeclaredRows) {
  auto g = Compile(kSpec);
  ASSERT_TRUE(g.ok()) << g.status();
  const int64_t jan1 = *core::ParseTimestamp("2024-01-01T00:00:00Z");
  std::set<int64_t> ids;
  for (int i = 0; i < 2; ++i) {
    Collect out(g->vertices[0].source->output_schema);
    auto ended = RunSource(*g, i, &out);
    ASSERT_TRUE(ended.ok()) << ended.status();
    EXPECT_TRUE(*ended);  // number-of-rows bounds it
    EXPECT_EQ(out.rows.num_rows(), 500u);
    for (size_t r = 0; r < out.rows.num_rows(); ++r) {
      const int64_t id = out.rows.GetInt64(r, 0);
      ids.insert(id);
      ASSERT_EQ(out.rows.GetString(r, 1).size(), 12u);
      const double v = out.rows.GetDouble(r, 2);
      ASSERT_TRUE(v >= 0 && v < 1000) << v;
      ASSERT_EQ(out.rows.GetInt64(r, 3), jan1 + id);  // both sequences advance together
      ASSERT_EQ(out.rows.timestamp(r), jan1 + id);    // event time from ts
    }
    ASSERT_FALSE(out.watermarks.empty());
    EXPECT_EQ(out.watermarks.back(), api::kMaxWatermark);
  }
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(*ids.rbegin(), 999);
}

// idle-timeout wraps the source (runtime/operators/idle_source.h): a bounded run still ends
// with every row and kMaxWatermark; a bad value is refused.
TEST(DatagenSpec, IdleTimeoutKeepsRowsAndIsChecked) {
  auto g = Compile(Replace(kSpec, "  batch-size: 64\n", "  batch-size: 64\n  idle-timeout: 5 s\n"));
  ASSERT_TRUE(g.ok()) << g.status();
  Collect out(g->vertices[0].source->output_schema);
  auto ended = RunSource(*g, 0, &out);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(out.rows.num_rows(), 500u);
  EXPECT_EQ(out.watermarks.back(), api::kMaxWatermark);
  auto bad = Compile(Replace(kSpec, "  batch-size: 64\n", "  batch-size: 64\n  idle-timeout: 0 s\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "job.yaml:8:17: source: idle-timeout must be positive");
}

TEST(DatagenSpec, TheKeyedStateExampleCompilesAndGeneratesManyKeys) {
  const std::string dir = std::string(SLUICE_SOURCE_DIR) + "/examples";
  std::ifstream in(dir + "/datagen-keyed-state.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto g = CompileJob(JobSubmission{text.str(), "datagen-keyed-state.yaml", dir, 0});
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->vertices.size(), 2u);
  EXPECT_EQ(g->vertices[0].name, "Source: purchases");
  EXPECT_EQ(g->vertices[1].operators[0].output_schema->HeaderLine(),
            "user,window_start,window_end,purchases,total");
  Collect out(g->vertices[0].source->output_schema);
  auto ended = RunSource(*g, 0, &out, 100);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_FALSE(*ended);
  ASSERT_EQ(out.rows.num_rows(), 102400u);
  std::set<int64_t> users;
  for (size_t r = 0; r < out.rows.num_rows(); ++r) {
    const int64_t u = out.rows.GetInt64(r, 0);
    ASSERT_TRUE(u >= 0 && u <= 9999999) << u;
    users.insert(u);
  }
  EXPECT_GT(users.size(), 100000u);  // nearly every row a new key
}

TEST(DatagenSpec, DefaultsAreUnboundedRandomAndTheSequenceAloneBounds) {
  auto g = Compile(R"(source:
  type: datagen
  rows-per-second: 0
  name: gen
  uid: my-gen
  seed: 7
  schema:
    k: int64
    flag: bool
    now: timestamp
sink:
  type: print
)");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[0].name, "Source: gen -> Sink: print");
  EXPECT_EQ(g->vertices[0].source->uid, "my-gen");
  Collect out(g->vertices[0].source->output_schema);
  auto ended = RunSource(*g, 0, &out, 10);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_FALSE(*ended);                    // unbounded
  EXPECT_EQ(out.rows.num_rows(), 10240u);  // default batch-size 1024
  std::set<bool> flags;
  for (size_t r = 0; r < out.rows.num_rows(); ++r) flags.insert(out.rows.GetBool(r, 1));
  EXPECT_EQ(flags.size(), 2u);

  auto bounded = Compile(Replace(kSpec, "  number-of-rows: 1000\n", ""));
  ASSERT_TRUE(bounded.ok()) << bounded.status();
  auto seq = Compile(R"(source:
  type: datagen
  rows-per-second: 0
  schema: {id: int64, s: string}
  fields:
    id: {kind: sequence, start: 1, end: 3000}
    s: {kind: sequence, start: 10, end: 20000}
sink: {type: print}
)");
  ASSERT_TRUE(seq.ok()) << seq.status();
  Collect all(seq->vertices[0].source->output_schema);
  ended = RunSource(*seq, 0, &all);
  ASSERT_TRUE(ended.ok() && *ended);
  ASSERT_EQ(all.rows.num_rows(), 3000u);
  EXPECT_EQ(all.rows.GetInt64(2999, 0), 3000);
  EXPECT_EQ(all.rows.GetString(2999, 1), "3009");
}

TEST(DatagenSpec, FileSourceStillCompilesAndUnknownTypesListBoth) {
  auto g = Compile(R"(source:
  type: file
  path: in.csv
  schema: {a: int64}
sink: {type: print}
)");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->vertices[0].name, "Source: file -> Sink: print");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "type: datagen", "type: kinesis")),
            "job.yaml:4:9: source: unknown type 'kinesis' (expected: file, datagen, kafka, nexmark)");
  // A datagen source refuses the file source's keys, and the other way round.
  EXPECT_THAT(ErrorOf(Replace(kSpec, "  batch-size: 64\n", "  path: in.csv\n")),
              HasSubstr("job.yaml:7:3: source: unknown key 'path' (expected one of: batch-size, "
                        "event-time, fields, idle-timeout, name, number-of-rows, parallelism, "
                        "rows-per-second, schema, seed, type, uid)"));
  EXPECT_THAT(ErrorOf(R"(source:
  type: file
  path: in.csv
  rows-per-second: 5
  schema: {a: int64}
sink: {type: print}
)"),
              HasSubstr("job.yaml:4:3: source: unknown key 'rows-per-second'"));
}

TEST(DatagenSpec, BadFieldGeneratorsNameTheKeyAndLine) {
  const std::string id_line = "    id: {kind: sequence, start: 0, end: 9999999}";
  auto with_id = [&](const std::string& line) { return ErrorOf(Replace(kSpec, id_line, line)); };
  EXPECT_EQ(with_id("    idd: {kind: sequence, start: 0, end: 9}"),
            "job.yaml:14:5: source.fields: unknown field 'idd' (fields: id,name,v,ts)");
  EXPECT_EQ(with_id("    id: {kind: sequential, start: 0, end: 9}"),
            "job.yaml:14:16: source.fields.id: unknown kind 'sequential' (expected: random, "
            "sequence, now)");
  EXPECT_EQ(with_id("    id: {kind: sequence, start: 0}"),
            "job.yaml:14:9: source.fields.id: missing required key 'end'");
  EXPECT_EQ(with_id("    id: {kind: sequence, start: 10, end: 9}"),
            "job.yaml:14:42: source.fields.id: sequence end 9 is below start 10");
  EXPECT_EQ(with_id("    id: {kind: sequence, start: zero, end: 9}"),
            "job.yaml:14:33: source.fields.id: 'start' must be an integer, found 'zero'");
  EXPECT_EQ(with_id("    id: {kind: random, min: 5, max: 4}"),
            "job.yaml:14:29: source.fields.id: min 5 is above max 4");
  EXPECT_EQ(with_id("    id: {kind: random, length: 4}"),
            "job.yaml:14:24: source.fields.id: unknown key 'length' (expected one of: kind, max, "
            "min)");
  EXPECT_EQ(with_id("    id: 5"),
            "job.yaml:14:9: source.fields.id: expected a generator mapping like {kind: random}");
  EXPECT_EQ(
      ErrorOf(Replace(kSpec, "    name: {kind: random, length: 12}", "    name: {kind: now}")),
      "job.yaml:15:18: source.fields.name: kind now needs a timestamp or int64 field, "
      "'name' is string");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "    name: {kind: random, length: 12}",
                            "    name: {kind: random, length: -1}")),
            "job.yaml:15:34: source.fields.name: 'length' must be in 0..1048576, found -1");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "    v: {kind: random, min: 0, max: 1000}",
                            "    v: {kind: random, min: 0, max: .inf}")),
            "job.yaml:16:36: source.fields.v: 'max' must be a finite number, found '.inf'");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "    v: {kind: random, min: 0, max: 1000}",
                            "    v: {kind: random, min: 2, max: 1}")),
            "job.yaml:16:28: source.fields.v: min 2 and max 1 need min <= max (and a finite max - "
            "min)");
  const std::string ts_line =
      "    ts: {kind: sequence, start: 2024-01-01T00:00:00Z, end: 2024-12-31T00:00:00Z}";
  EXPECT_EQ(ErrorOf(Replace(kSpec, ts_line, "    ts: {kind: sequence, start: yesterday, end: 5}")),
            "job.yaml:17:33: source.fields.ts: 'start' must be a timestamp like "
            "2024-01-01T00:00:00Z or epoch ms, found 'yesterday'");
  EXPECT_EQ(ErrorOf(Replace(kSpec, ts_line, "    ts: {kind: random, min: 0}")),
            "job.yaml:17:9: source.fields.ts: a random timestamp needs both 'min' and 'max' (or "
            "'max-past')");
  EXPECT_EQ(
      ErrorOf(Replace(kSpec, ts_line, "    ts: {kind: random, min: 0, max: 5, max-past: 1 s}")),
      "job.yaml:17:50: source.fields.ts: 'max-past' and 'min'/'max' exclude each other");
  EXPECT_TRUE(Compile(Replace(kSpec, ts_line, "    ts: {kind: random, max-past: 5 s}")).ok());
  EXPECT_TRUE(Compile(Replace(kSpec, ts_line, "    ts: {kind: now}")).ok());
  EXPECT_TRUE(Compile(Replace(kSpec, ts_line,
                              "    ts: {kind: random, min: 2024-01-01, max: 1735689600000}"))
                  .ok());
}

TEST(DatagenSpec, BadSourceOptionsNameTheKeyAndLine) {
  EXPECT_EQ(ErrorOf(Replace(kSpec, "rows-per-second: 0", "rows-per-second: -1")),
            "job.yaml:5:20: source: 'rows-per-second' must be a number of rows per second over "
            "all subtasks (0 = unlimited), found '-1'");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "number-of-rows: 1000", "number-of-rows: -3")),
            "job.yaml:6:19: source: 'number-of-rows' must be at least 0, found -3");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "number-of-rows: 1000", "number-of-rows: lots")),
            "job.yaml:6:19: source: 'number-of-rows' must be an integer, found 'lots'");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "batch-size: 64", "batch-size: 0")),
            "job.yaml:7:15: source: 'batch-size' must be at least 1");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "  fields:\n", "  seed: x\n  fields:\n")),
            "job.yaml:13:9: source: 'seed' must be an integer, found 'x'");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "field: ts,", "field: name,")),
            "job.yaml:18:23: source.event-time: field 'name' is string, expected timestamp or "
            "int64 (epoch ms or s, with unit)");
  // An int64 event time must declare its unit; a timestamp must not.
  EXPECT_EQ(ErrorOf(Replace(kSpec, "field: ts,", "field: id,")),
            "job.yaml:18:23: source.event-time: field 'id' is int64: declare its unit (unit: ms "
            "for epoch milliseconds, unit: s for epoch seconds)");
  EXPECT_TRUE(Compile(Replace(kSpec, "field: ts,", "field: id, unit: s,")).ok());
  EXPECT_EQ(ErrorOf(Replace(kSpec, "field: ts,", "field: ts, unit: s,")),
            "job.yaml:18:33: source.event-time: 'unit' applies to int64 event times; field 'ts' "
            "is a timestamp");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "field: ts,", "field: id, unit: h,")),
            "job.yaml:18:33: source.event-time: unknown unit 'h' (expected ms or s)");
  EXPECT_TRUE(Compile(Replace(kSpec, "field: ts,", "expression: \"id * 1000\", unit: ms,")).ok());
  EXPECT_EQ(ErrorOf(Replace(kSpec, "field: ts,", "expression: \"idd * 1000\", unit: ms,")),
            "job.yaml:18:28: source.event-time: expression 'idd * 1000' at column 1: unknown "
            "field 'idd' (fields: id, name, v, ts)");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "field: ts,", "field: ts, expression: ts,")),
            "job.yaml:18:39: source.event-time: give 'field' or 'expression', not both");
  EXPECT_EQ(ErrorOf(Replace(kSpec, "    ts: timestamp\n", "    ts: timestamp\n    id: int64\n")),
            "job.yaml:13:5: key 'id' is given twice in one mapping (first at line 9, again at "
            "line 13); remove one");
  EXPECT_EQ(ErrorOf(R"(source:
  type: datagen
  schema: {id: int64}
  fields: [id]
sink: {type: print}
)"),
            "job.yaml:4:11: source: 'fields' must map field names to generators like {kind: "
            "sequence, start: 0, end: 99}");
  EXPECT_EQ(ErrorOf(R"(source:
  type: datagen
  schema: {id: int64}
  fields:
    id: {kind: now}
    id: {kind: random}
sink: {type: print}
)"),
            "job.yaml:6:5: key 'id' is given twice in one mapping (first at line 5, again at "
            "line 6); remove one");
}

}  // namespace
}  // namespace sluice::job
