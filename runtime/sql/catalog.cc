#include "runtime/sql/catalog.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "runtime/base/durations.h"
#include "runtime/base/status.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {
namespace {

template <typename Map>
auto FindName(const Map& m, const std::string& name) -> const typename Map::mapped_type* {
  auto it = m.find(name);
  if (it != m.end()) return &it->second;
  const typename Map::mapped_type* found = nullptr;
  for (const auto& [k, v] : m) {
    if (absl::AsciiStrToLower(k) == absl::AsciiStrToLower(name)) {
      if (found != nullptr) return nullptr;  // ambiguous
      found = &v;
    }
  }
  return found;
}

bool IsColumn(const ast::ExprPtr& e, const std::string& name) {
  return e && e->kind == ast::ExprKind::kColumn && e->qualifier.empty() && e->name == name;
}

// SET keys (Flink's configuration keys) -> where they go in the job spec.
struct SettingKey {
  const char* key;
  std::vector<std::string> path;
  enum Kind { kInt, kString, kDuration, kBool } kind;
};

const std::vector<SettingKey>& SettingKeys() {
  static const std::vector<SettingKey> keys = {
      {"parallelism.default", {"parallelism"}, SettingKey::kInt},
      {"pipeline.name", {"name"}, SettingKey::kString},
      {"pipeline.max-parallelism", {"max-parallelism"}, SettingKey::kInt},
      {"execution.checkpointing.interval", {"checkpointing", "interval"}, SettingKey::kDuration},
      {"execution.checkpointing.timeout", {"checkpointing", "timeout"}, SettingKey::kDuration},
      {"execution.checkpointing.min-pause", {"checkpointing", "min-pause"}, SettingKey::kDuration},
      {"execution.checkpointing.max-concurrent-checkpoints", {"checkpointing", "max-concurrent"},
       SettingKey::kInt},
      {"execution.checkpointing.tolerable-failed-checkpoints",
       {"checkpointing", "tolerable-failed-checkpoints"}, SettingKey::kInt},
      {"execution.checkpointing.num-retained", {"checkpointing", "retained"}, SettingKey::kInt},
      {"execution.checkpointing.externalized-checkpoint-retention",
       {"checkpointing", "externalized-checkpoint-retention"}, SettingKey::kString},
      {"state.checkpoints.num-retained", {"checkpointing", "retained"}, SettingKey::kInt},
      {"state.checkpoints.dir", {"checkpointing", "dir"}, SettingKey::kString},
      {"execution.checkpointing.dir", {"checkpointing", "dir"}, SettingKey::kString},
      {"state.backend.type", {"state", "backend"}, SettingKey::kString},
      {"state.backend", {"state", "backend"}, SettingKey::kString},
      {"state.backend.incremental", {"state", "incremental"}, SettingKey::kBool},
      {"table.exec.state.ttl", {"state", "ttl"}, SettingKey::kDuration},
      {"restart-strategy.type", {"restart-strategy", "type"}, SettingKey::kString},
      {"restart-strategy", {"restart-strategy", "type"}, SettingKey::kString},
      {"restart-strategy.fixed-delay.attempts", {"restart-strategy", "attempts"}, SettingKey::kInt},
      {"restart-strategy.fixed-delay.delay", {"restart-strategy", "delay"}, SettingKey::kDuration},
  };
  return keys;
}

}  // namespace

const TableColumn* TableDef::Find(const std::string& column) const {
  for (const TableColumn& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

bool TableDef::HasComputed() const {
  for (const TableColumn& c : columns) {
    if (c.computed && !c.proctime) return true;  // a PROCTIME() column is not stored
  }
  return false;
}

const TableDef* Catalog::FindTable(const std::string& name) const { return FindName(tables_, name); }
const ViewDef* Catalog::FindView(const std::string& name) const { return FindName(views_, name); }

std::string Catalog::TableNames() const {
  std::string out;
  for (const auto& [k, v] : tables_) out += (out.empty() ? "" : ", ") + k;
  for (const auto& [k, v] : views_) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "none declared" : out;
}

absl::Status Catalog::AddTable(const ast::CreateTable& ddl) {
  if (tables_.count(ddl.name) > 0 || views_.count(ddl.name) > 0) {
    if (ddl.if_not_exists) return absl::OkStatus();
    return SQL_ERROR(ddl.offset, "table '{}' already exists", ddl.name);
  }
  TableDef t;
  t.name = ddl.name;
  t.offset = ddl.offset;
  t.primary_key = ddl.primary_key;
  t.options = ddl.options;
  for (ast::Option& o : t.options) {
    // Flink's legacy option keys (connector.type, connector.path, format.type), as in
    // nexmark-flink's q13; file:// paths are local paths.
    if (o.key == "connector.type") o.key = "connector";
    else if (o.key == "connector.path") o.key = "path";
    else if (o.key == "format.type") o.key = "format";
    if (o.key == "path" && o.value.rfind("file://", 0) == 0) o.value = o.value.substr(7);
  }
  for (const ast::ColumnDef& c : ddl.columns) {
    if (t.Find(c.name) != nullptr) {
      return SQL_ERROR(c.offset, "column '{}' is declared twice", c.name);
    }
    TableColumn col;
    col.name = c.name;
    col.offset = c.offset;
    if (c.type) {
      col.type = c.type->type;
    } else {
      col.computed = c.computed;
      col.proctime = c.computed->kind == ast::ExprKind::kCall && c.computed->name == "proctime" &&
                     c.computed->args.empty();
      col.type = core::Type::kTimestamp;  // proctime; other computed columns: typed by the planner
    }
    t.columns.push_back(std::move(col));
  }
  if (registry_lookups_) RETURN_IF_ERROR(ResolveRegistrySchema(&t));
  if (std::none_of(t.columns.begin(), t.columns.end(),
                   [](const TableColumn& c) { return !c.computed; })) {
    return SQL_ERROR(ddl.offset, "table '{}' declares no columns (only a table in format "
                                 "'avro-confluent' takes them from its schema registry)", t.name);
  }
  for (const std::string& k : t.primary_key) {
    if (t.Find(k) == nullptr) return SQL_ERROR(ddl.offset, "PRIMARY KEY column '{}' is not a column", k);
  }
  if (ddl.watermark) {
    const auto& [column, expr] = *ddl.watermark;
    const TableColumn* c = t.Find(column);
    if (c == nullptr) {
      return SQL_ERROR(ddl.watermark_offset, "WATERMARK FOR '{}': no such column", column);
    }
    if (c->proctime || (!c->computed && c->type != core::Type::kTimestamp)) {
      return SQL_ERROR(ddl.watermark_offset, "WATERMARK FOR '{}': the column must be a TIMESTAMP(3)",
                       column);
    }
    // Bounded out-of-orderness: `c` or `c - INTERVAL 'n' unit` (Flink's usual form).
    if (IsColumn(expr, column)) {
      t.watermark_delay_ms = 0;
    } else if (expr->kind == ast::ExprKind::kBinary && expr->name == "-" &&
               IsColumn(expr->args[0], column) && expr->args[1]->kind == ast::ExprKind::kInterval) {
      t.watermark_delay_ms = expr->args[1]->interval_ms;
    } else {
      return SQL_ERROR(expr->offset, "WATERMARK FOR {0}: expected '{0}' or '{0} - INTERVAL ...' "
                                     "(bounded out-of-orderness)", column);
    }
    t.rowtime = column;
  }
  RETURN_IF_ERROR(CheckOptions(t));
  tables_.emplace(t.name, std::move(t));
  return absl::OkStatus();
}

absl::Status Catalog::AddFunction(const ast::CreateFunction& f) {
  const std::string name = absl::AsciiStrToLower(f.name);
  if (created_functions_.count(name) > 0 || expr::IsBuiltinFunction(name)) {
    return SQL_ERROR(f.offset, "function '{}' already exists", f.name);
  }
  if (functions_ == nullptr || functions_->empty()) {
    return SQL_ERROR(f.identifier_offset, "CREATE FUNCTION {}: no function library is loaded; "
                                          "give the C++ plugin that registers '{}' (sluice sql "
                                          "run/validate --plugin lib.so)", f.name, f.identifier);
  }
  const std::string id = absl::AsciiStrToLower(f.identifier);
  const std::string last = id.substr(id.rfind('.') == std::string::npos ? 0 : id.rfind('.') + 1);
  std::string names;
  for (const auto& [registered, factory] : *functions_) {
    const std::string lower = absl::AsciiStrToLower(registered);
    if (lower == id || lower == last) {
      created_functions_[name] = registered;
      return absl::OkStatus();
    }
    names += (names.empty() ? "" : ", ") + registered;
  }
  return SQL_ERROR(f.identifier_offset, "CREATE FUNCTION {}: the plugin has no function '{}' "
                                        "(it registers: {})", f.name, f.identifier, names);
}

const std::string* Catalog::FindFunction(const std::string& name) const {
  auto it = created_functions_.find(name);
  return it == created_functions_.end() ? nullptr : &it->second;
}

absl::Status Catalog::AddView(const ast::CreateView& view) {
  if (tables_.count(view.name) > 0 || views_.count(view.name) > 0) {
    return SQL_ERROR(view.offset, "'{}' already exists", view.name);
  }
  views_.emplace(view.name, ViewDef{view.name, view.offset, view.query, view.column_names});
  return absl::OkStatus();
}

absl::Status Catalog::Set(const ast::Set& set) {
  for (const SettingKey& k : SettingKeys()) {
    if (set.key != k.key) continue;
    YAML::Node value;
    switch (k.kind) {
      case SettingKey::kInt: {
        int64_t v;
        if (!absl::SimpleAtoi(set.value, &v)) {
          return SQL_ERROR(set.value_offset, "SET '{}': expected an integer, got '{}'", set.key,
                           set.value);
        }
        value = v;
        break;
      }
      case SettingKey::kDuration: {
        auto ms = ParseDurationMs(set.value);
        if (!ms.ok()) return SQL_ERROR(set.value_offset, "SET '{}': {}", set.key, ms.status().message());
        value = fmt::format("{} ms", *ms);
        break;
      }
      case SettingKey::kBool:
        if (set.value != "true" && set.value != "false") {
          return SQL_ERROR(set.value_offset, "SET '{}': expected true or false", set.key);
        }
        value = set.value == "true";
        break;
      case SettingKey::kString: value = set.value; break;
    }
    if (k.path.size() == 1) {
      settings_.spec[k.path[0]] = value;
    } else {
      YAML::Node parent = settings_.spec[k.path[0]];
      if (!parent.IsMap()) parent = YAML::Node(YAML::NodeType::Map);
      parent[k.path[1]] = value;
      settings_.spec[k.path[0]] = parent;
    }
    settings_.values[set.key] = set.value;
    return absl::OkStatus();
  }
  std::string keys;
  for (const SettingKey& k : SettingKeys()) keys += (keys.empty() ? "" : ", ") + std::string(k.key);
  return SQL_ERROR(set.offset, "SET: unknown key '{}' (known: {})", set.key, keys);
}

}  // namespace sluice::sql
