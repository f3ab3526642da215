#include "runtime/sql/sql_compiler.h"

#include "absl/strings/ascii.h"
#include "runtime/base/status.h"
#include "runtime/graph/plan_text.h"
#include "runtime/job/job_compiler.h"
#include "runtime/sql/catalog.h"
#include "runtime/sql/parser.h"
#include "runtime/sql/query_planner.h"

namespace sluice::sql {
namespace {

bool Assignable(core::Type from, core::Type to) {
  auto numeric = [](core::Type t) {
    return t == core::Type::kInt64 || t == core::Type::kInt32 || t == core::Type::kDouble;
  };
  if (from == to) return true;
  if (numeric(from) && numeric(to)) return true;
  if (to == core::Type::kTimestamp && from == core::Type::kDate) return true;
  return (from == core::Type::kString && to == core::Type::kBytes);
}

std::string ToYaml(const YAML::Node& n) {
  YAML::Emitter out;
  out << n;
  return std::string(out.c_str()) + "\n";
}

class ScriptCompiler {
 public:
  ScriptCompiler(const SourceText& source, std::string base_dir, SqlOptions options)
      : source_(source), base_dir_(std::move(base_dir)), options_(std::move(options)),
        catalog_(options_.schema_registry_lookups,
                 options_.plugin != nullptr
                     ? std::make_shared<const expr::ScalarFunctions>(options_.plugin->scalar_functions)
                     : nullptr) {}

  CompiledSql Run() {
    for (auto& parsed : ParseScript(source_)) {
      ++result_.statements;
      if (!parsed.ok()) {
        AddError(parsed.status());
        continue;
      }
      if (absl::Status s = Statement(*parsed); !s.ok()) AddError(s);
    }
    if (result_.ok() && !spec_.empty()) Finish();
    return std::move(result_);
  }

 private:
  void AddError(const absl::Status& s) {
    result_.errors.push_back(source_.Format(s));
    SqlProblem p;
    if (std::optional<int> offset = SqlErrorOffset(s)) {
      p.line = source_.Line(*offset);
      p.column = source_.Column(*offset);
    }
    p.message = std::string(s.message());
    result_.problems.push_back(std::move(p));
  }

  absl::Status Statement(const ast::Statement& st) {
    if (const auto* t = std::get_if<ast::CreateTable>(&st.node)) return catalog_.AddTable(*t);
    if (const auto* s = std::get_if<ast::Set>(&st.node)) return catalog_.Set(*s);
    if (const auto* f = std::get_if<ast::CreateFunction>(&st.node)) return catalog_.AddFunction(*f);
    if (const auto* v = std::get_if<ast::CreateView>(&st.node)) {
      // Plan the view once on its own, so that its errors show at its definition.
      SpecBuilder scratch;
      QueryPlanner planner(catalog_, scratch);
      RETURN_IF_ERROR(planner.Plan(*v->query).status());
      return catalog_.AddView(*v);
    }
    if (const auto* e = std::get_if<ast::Explain>(&st.node)) return Explain(*e->statement);
    return Plan(st, spec_, planned_, true);
  }

  // Plans an INSERT or SELECT into `spec`; on error, nothing of it stays in `spec`.
  absl::Status Plan(const ast::Statement& st, SpecBuilder& spec, std::map<std::string, Rel>& cache,
                    bool count) {
    SpecBuilder attempt = spec.Clone();
    QueryPlanner planner(catalog_, attempt, cache);
    if (const auto* ins = std::get_if<ast::Insert>(&st.node)) {
      RETURN_IF_ERROR(Insert(*ins, planner, attempt));
      if (count) ++result_.inserts;
    } else if (const auto* sel = std::get_if<ast::Select>(&st.node)) {
      attempt.SetScope(fmt::format("select-{}", ++selects_));
      ASSIGN_OR_RETURN(Rel rel, planner.Plan(*sel->query));
      YAML::Node sink(YAML::NodeType::Map);
      if (options_.select_result_dir.empty()) {
        sink["type"] = "print";
      } else {
        sink["type"] = "file";
        sink["path"] = options_.select_result_dir;
        sink["changelog"] = true;
        sink["header"] = true;
      }
      attempt.AddSink(fmt::format("select-{}", selects_), sink, rel.stream,
                      fmt::format("{} (the SELECT's rows)", sink["type"].as<std::string>()));
    } else {
      return SqlError(st.offset, "EXPLAIN explains an INSERT or a SELECT");
    }
    spec = std::move(attempt);
    cache = planner.planned();
    return absl::OkStatus();
  }

  absl::Status Insert(const ast::Insert& ins, QueryPlanner& planner, SpecBuilder& spec) {
    const TableDef* sink = catalog_.FindTable(ins.table);
    if (sink == nullptr) {
      if (catalog_.FindView(ins.table) != nullptr) {
        return SQL_ERROR(ins.offset, "cannot INSERT INTO view '{}'", ins.table);
      }
      return SQL_ERROR(ins.offset, "unknown table '{}' (tables: {})", ins.table, catalog_.TableNames());
    }
    spec.SetScope(sink->name);
    ASSIGN_OR_RETURN(Rel rel, planner.Plan(*ins.query));
    // The sink's columns: those listed, or all physical ones in order.
    std::vector<const TableColumn*> targets;
    if (ins.columns.empty()) {
      for (const TableColumn& c : sink->columns) {
        if (!c.computed) targets.push_back(&c);
      }
    } else {
      for (const std::string& n : ins.columns) {
        const TableColumn* c = sink->Find(n);
        if (c == nullptr || c->computed) {
          return SQL_ERROR(ins.offset, "table '{}' has no column '{}'", sink->name, n);
        }
        targets.push_back(c);
      }
    }
    std::vector<const RelColumn*> values;
    for (const RelColumn& c : rel.columns) {
      if (!c.name.empty()) values.push_back(&c);
    }
    if (values.size() != targets.size()) {
      return SQL_ERROR(ins.query->offset, "INSERT INTO {}: the query has {} columns, the table {}",
                       sink->name, values.size(), targets.size());
    }
    std::vector<Bound> exprs;
    std::vector<std::string> names;
    for (size_t i = 0; i < values.size(); ++i) {
      const RelColumn& v = *values[i];
      const TableColumn& t = *targets[i];
      if (v.proctime) {
        return SQL_ERROR(ins.query->offset, "INSERT INTO {}: column {} ('{}') is a "
                                            "processing-time attribute, which is not a value",
                         sink->name, i + 1, v.name);
      }
      if (!Assignable(v.type, t.type)) {
        return SQL_ERROR(ins.query->offset, "INSERT INTO {}: column {} ('{}') is {}, but the "
                                            "table's '{}' is {}", sink->name, i + 1, v.name,
                         core::TypeName(v.type), t.name, core::TypeName(t.type));
      }
      Bound b = ColumnBound(rel, static_cast<size_t>(&v - rel.columns.data()));
      if (v.type != t.type && t.type == core::Type::kDouble) {
        b.text = fmt::format("to_double({})", b.text);
        b.column = -1;
        b.type = core::Type::kDouble;
      } else if (v.type == core::Type::kDouble && t.type != core::Type::kDouble) {
        b.text = fmt::format("to_int({})", b.text);
        b.column = -1;
        b.type = core::Type::kInt64;
      }
      exprs.push_back(b);
      names.push_back(t.name);
    }
    if (rel.updating && !SinkTakesUpdates(*sink)) {
      return SQL_ERROR(ins.offset, "table '{}' cannot take this query's updates (it is updating "
                                   "because of {}): a filesystem sink needs 'format' = "
                                   "'changelog-csv' or 'changelog-json'; upsert-kafka and "
                                   "print also take updates", sink->name, rel.updating_reason);
    }
    ASSIGN_OR_RETURN(Rel out, planner.Project(rel, exprs, names, "INSERT INTO " + sink->name));
    ASSIGN_OR_RETURN(YAML::Node sink_spec, SinkSpec(*sink));
    spec.AddSink(sink->name, sink_spec, out.stream,
                 fmt::format("table {} ({})", sink->name, sink_spec["type"].as<std::string>()));
    return absl::OkStatus();
  }

  absl::Status Explain(const ast::Statement& st) {
    SpecBuilder scratch;
    std::map<std::string, Rel> cache;
    RETURN_IF_ERROR(Plan(st, scratch, cache, false));
    std::string text = "== Logical plan ==\n";
    for (const std::string& line : scratch.logical_plan()) text += line + "\n";
    job::JobSubmission sub;
    sub.spec_yaml = ToYaml(scratch.Build(catalog_.settings().spec));
    sub.spec_path = source_.name() + " (generated job spec)";
    sub.base_dir = base_dir_;
    sub.plugin = options_.plugin;
    auto graph = job::CompileJob(sub);
    if (!graph.ok()) {
      return SQL_ERROR(st.offset, "internal error: the planned job spec was refused: {}",
                       graph.status().message());
    }
    text += "== Job graph ==\n" + graph::FormatPlan(*graph);
    result_.explains.push_back(std::move(text));
    return absl::OkStatus();
  }

  void Finish() {
    result_.spec_yaml = ToYaml(spec_.Build(catalog_.settings().spec));
    result_.logical_plan = spec_.logical_plan();
    job::JobSubmission sub;
    sub.spec_yaml = result_.spec_yaml;
    sub.spec_path = source_.name() + " (generated job spec)";
    sub.base_dir = base_dir_;
    sub.plugin = options_.plugin;
    auto graph = job::CompileJob(sub);
    if (!graph.ok()) {
      AddError(SQL_ERROR(0, "internal error: the planned job spec was refused: {}",
                         graph.status().message()));
      return;
    }
    result_.job_plan = graph::FormatPlan(*graph);
  }

  const SourceText& source_;
  std::string base_dir_;
  SqlOptions options_;
  Catalog catalog_;
  SpecBuilder spec_;
  std::map<std::string, Rel> planned_;
  int selects_ = 0;
  CompiledSql result_;
};

}  // namespace

CompiledSql CompileSql(const SourceText& source, const std::string& base_dir,
                       const SqlOptions& options) {
  return ScriptCompiler(source, base_dir, options).Run();
}

}  // namespace sluice::sql
