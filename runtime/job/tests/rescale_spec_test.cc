// JobSubmission::operator_parallelism: the parallelism a rescale gives a vertex's operators.

#include "gtest/gtest.h"
#include "runtime/job/job_compiler.h"

namespace sluice::job {
namespace {

constexpr const char* kSpec = R"(name: rescale
parallelism: 2
source:
  name: clicks
  type: datagen
  number-of-rows: 10
  schema:
    user: int64
  fields:
    user: {kind: sequence, start: 0, end: 9}
pipeline:
  - filter: "user > 3"
  - key-by: [user]
  - deduplicate: {keep: first}
  - map:
      doubled: "user * 2"
sink:
  name: out
  type: print
)";

graph::JobGraph Compile(std::map<std::string, int> overrides) {
  JobSubmission sub{kSpec, "job.yaml", "/base", 0};
  sub.operator_parallelism = std::move(overrides);
  auto g = CompileJob(sub);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *g : graph::JobGraph{};
}

TEST(RescaleSpec, OverridesKeepVertexIdsAndChains) {
  graph::JobGraph before = Compile({});
  ASSERT_EQ(before.vertices.size(), 2u);  // source -> filter | hash | dedup -> map -> sink
  const graph::JobVertex& tail = before.vertices[1];
  std::map<std::string, int> overrides;
  for (const std::string& uid : tail.uids()) overrides[uid] = 3;
  graph::JobGraph after = Compile(overrides);
  ASSERT_EQ(after.vertices.size(), 2u);
  EXPECT_EQ(after.vertices[0].id, before.vertices[0].id);
  EXPECT_EQ(after.vertices[1].id, tail.id) << "the vertex keeps its id: state restores into it";
  EXPECT_EQ(after.vertices[0].parallelism, 2);
  EXPECT_EQ(after.vertices[1].parallelism, 3);
  EXPECT_EQ(after.vertices[1].operators.size(), tail.operators.size()) << "still one chain";

  // Rescaling the source vertex alone: the hash edge after it stays a hash edge.
  std::map<std::string, int> head;
  for (const std::string& uid : before.vertices[0].uids()) head[uid] = 1;
  graph::JobGraph one = Compile(head);
  ASSERT_EQ(one.vertices.size(), 2u);
  EXPECT_EQ(one.vertices[0].parallelism, 1);
  EXPECT_EQ(one.edges[0].partitioner, graph::PartitionerKind::kHash);
}

TEST(RescaleSpec, ForwardEdgeBetweenRescaledAndUnchangedOperatorsBecomesRebalance) {
  graph::JobGraph before = Compile({});
  // Rescale only the sink: it leaves the map's chain, behind a rebalance.
  std::map<std::string, int> sink;
  for (const auto& v : before.vertices) {
    for (const auto& op : v.operators) {
      if (op.sink) sink[op.uid] = 1;
    }
  }
  ASSERT_EQ(sink.size(), 1u);
  graph::JobGraph after = Compile(sink);
  ASSERT_EQ(after.vertices.size(), 3u);
  EXPECT_EQ(after.vertices[2].parallelism, 1);
  EXPECT_EQ(after.edges.back().partitioner, graph::PartitionerKind::kRebalance);
}

TEST(RescaleSpec, ParallelismAboveMaxIsRefusedNamingTheOperator) {
  JobSubmission sub{kSpec, "job.yaml", "/base", 0};
  graph::JobGraph g = Compile({});
  sub.operator_parallelism[g.vertices[1].uids()[0]] = 1000;
  auto bad = CompileJob(sub);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("max parallelism"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace sluice::job
