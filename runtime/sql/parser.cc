#include "runtime/sql/parser.h"

#include <pg_query.h>

#include "absl/strings/ascii.h"
#include "runtime/base/status.h"
#include "runtime/sql/parser_internal.h"

namespace sluice::sql {
namespace {

// Parses `text` (one statement, the rest blanked so offsets stay those of the whole text).
// Parses `text`, which starts at byte `base` of the rewritten script `rw`.
absl::StatusOr<pg_query::ParseResult> PgParse(const std::string& text, const RewrittenSql& rw,
                                              const SourceText& source, int base = 0) {
  PgQueryProtobufParseResult r = pg_query_parse_protobuf(text.c_str());
  if (r.error != nullptr) {
    // cursorpos: 1-based, in characters.
    int chars = std::max(0, r.error->cursorpos - 1);
    size_t byte = 0;
    for (int c = 0; byte < text.size(); ++byte) {
      if ((static_cast<unsigned char>(text[byte]) & 0xC0) == 0x80) continue;
      if (c++ == chars) break;
    }
    std::string msg = r.error->message;
    pg_query_free_protobuf_parse_result(r);
    // At the end of the input: point just after the statement's last character.
    size_t last = text.find_last_not_of(" \t\r\n");
    if (last != std::string::npos && byte > last) byte = last + 1;
    const int offset = rw.Original(static_cast<int>(byte) + base);
    // "syntax error at or near "x"": name the token as written, not as rewritten.
    if (msg.find("at or near \"") != std::string::npos) {
      msg = msg.substr(0, msg.find("at or near \"")) + "at or near \"" + TokenAt(source, offset) + "\"";
    }
    return SqlError(offset, msg);
  }
  pg_query::ParseResult tree;
  const bool ok = tree.ParseFromArray(r.parse_tree.data, static_cast<int>(r.parse_tree.len));
  pg_query_free_protobuf_parse_result(r);
  if (!ok) return absl::InternalError("cannot read libpg_query's parse tree");
  return tree;
}

// The offset of the first byte that is not valid UTF-8, or -1.
int InvalidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return static_cast<int>(i);
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return static_cast<int>(i);
    }
    if (c == 0) return static_cast<int>(i);  // libpg_query reads C strings
    i += n;
  }
  return -1;
}

std::string Name(const pg_query::RangeVar& rv) {
  return rv.schemaname().empty() ? rv.relname() : rv.schemaname() + "." + rv.relname();
}

}  // namespace

std::string NodeString(const pg_query::Node& n) {
  return n.has_string() ? n.string().sval() : std::string();
}

std::vector<absl::StatusOr<ast::Statement>> ParseScript(const SourceText& source) {
  std::vector<absl::StatusOr<ast::Statement>> out;
  if (const int bad = InvalidUtf8(source.text()); bad >= 0) {
    out.push_back(SqlError(bad, "the script is not valid UTF-8 text (or holds a NUL byte) here"));
    return out;
  }
  auto rw = RewriteFlinkDialect(source, TextSpan{0, static_cast<int>(source.text().size())}, "");
  if (!rw.ok()) {
    out.push_back(rw.status());
    return out;
  }
  PgQuerySplitResult split = pg_query_split_with_scanner(rw->text.c_str());
  if (split.error != nullptr) {
    out.push_back(SqlError(rw->Original(std::max(0, split.error->cursorpos - 1)),
                           split.error->message));
    pg_query_free_split_result(split);
    return out;
  }
  std::vector<std::pair<int, int>> spans;
  for (int i = 0; i < split.n_stmts; ++i) {
    spans.emplace_back(split.stmts[i]->stmt_location, split.stmts[i]->stmt_len);
  }
  pg_query_free_split_result(split);
  for (auto [loc, len] : spans) {
    if (len == 0) len = static_cast<int>(rw->text.size()) - loc;  // the last statement
    // Each statement is parsed on its own (its positions shifted by `loc`): a bad statement
    // does not hide the next ones, and the work stays linear in the script's size.
    const std::string text = rw->text.substr(static_cast<size_t>(loc), static_cast<size_t>(len));
    auto tree = PgParse(text, *rw, source, loc);
    if (!tree.ok()) {
      out.push_back(tree.status());
      continue;
    }
    Converter conv(source, *rw);
    conv.set_base(loc);
    for (const pg_query::RawStmt& raw : tree->stmts()) out.push_back(conv.Statement(raw, loc));
  }
  return out;
}

absl::StatusOr<ast::Statement> Converter::Statement(const pg_query::RawStmt& raw, int start) {
  // The statement's first token: skip whitespace and comments.
  int loc = std::max(start, base_ + raw.stmt_location());
  const std::string& t = rw_.text;
  const int n = static_cast<int>(t.size());
  auto at = [&](int k) { return k < n ? t[static_cast<size_t>(k)] : '\0'; };
  while (loc < n) {
    if (absl::ascii_isspace(static_cast<unsigned char>(at(loc)))) {
      ++loc;
    } else if (at(loc) == '-' && at(loc + 1) == '-') {
      while (loc < n && at(loc) != '\n') ++loc;
    } else if (at(loc) == '/' && at(loc + 1) == '*') {
      loc += 2;
      while (loc < n && !(at(loc) == '*' && at(loc + 1) == '/')) ++loc;
      loc += 2;
    } else {
      break;
    }
  }
  const int offset = rw_.Original(loc);  // `loc` is already a position in rw_.text
  fallback_ = offset;
  ASSIGN_OR_RETURN(ast::Statement st, StatementNode(raw.stmt(), offset));
  st.offset = offset;
  return st;
}

absl::StatusOr<ast::Statement> Converter::StatementNode(const pg_query::Node& n, int offset) {
  ast::Statement st;
  if (n.has_create_stmt()) {
    ASSIGN_OR_RETURN(ast::CreateTable ct, CreateTable(n.create_stmt(), offset));
    st.node = std::move(ct);
  } else if (n.has_create_function_stmt()) {
    const auto& f = n.create_function_stmt();
    ast::CreateFunction cf;
    cf.offset = offset;
    if (f.funcname_size() > 0) cf.name = NodeString(f.funcname(f.funcname_size() - 1));
    for (const auto& o : f.options()) {
      if (!o.has_def_elem()) continue;
      const auto& d = o.def_elem();
      if (d.defname() == "as" && d.arg().has_list() && d.arg().list().items_size() == 1) {
        cf.identifier = NodeString(d.arg().list().items(0));
        cf.identifier_offset = Loc(d.location());
      } else if (d.defname() == "language") {
        return SQL_ERROR(Loc(d.location()), "CREATE FUNCTION ... LANGUAGE {}: Sluice's functions "
                                            "are C++ scalar functions of the job's plugin (leave "
                                            "LANGUAGE out)", NodeString(d.arg()));
      }
    }
    if (cf.identifier.empty() || f.parameters_size() > 0 || f.has_return_type()) {
      return SqlError(offset, "expected CREATE FUNCTION <name> AS '<identifier>'");
    }
    st.node = std::move(cf);
  } else if (n.has_view_stmt()) {
    const auto& v = n.view_stmt();
    ast::CreateView cv;
    cv.name = Name(v.view());
    cv.offset = Loc(v.view().location());
    if (!v.query().has_select_stmt()) return SqlError(offset, "CREATE VIEW needs a query");
    ASSIGN_OR_RETURN(cv.query, Query(v.query().select_stmt(), offset));
    for (const auto& a : v.aliases()) cv.column_names.push_back(NodeString(a));
    st.node = std::move(cv);
  } else if (n.has_variable_set_stmt()) {
    const auto& s = n.variable_set_stmt();
    if (s.kind() != pg_query::VAR_SET_VALUE || s.args_size() != 1 ||
        !s.args(0).has_a_const()) {
      return SqlError(offset, "expected SET 'key' = 'value'");
    }
    ast::Set set;
    set.key = s.name();
    set.offset = offset;
    const auto& c = s.args(0).a_const();
    set.value_offset = Loc(c.location());
    if (c.has_sval()) set.value = c.sval().sval();
    else if (c.has_ival()) set.value = std::to_string(c.ival().ival());
    else if (c.has_fval()) set.value = c.fval().fval();
    else if (c.has_boolval()) set.value = c.boolval().boolval() ? "true" : "false";
    st.node = std::move(set);
  } else if (n.has_insert_stmt()) {
    const auto& s = n.insert_stmt();
    ast::Insert ins;
    ins.table = Name(s.relation());
    ins.offset = Loc(s.relation().location());
    for (const auto& c : s.cols()) ins.columns.push_back(c.res_target().name());
    if (!s.has_select_stmt() || !s.select_stmt().has_select_stmt()) {
      return SqlError(offset, "INSERT needs a query: INSERT INTO t SELECT ...");
    }
    if (s.has_on_conflict_clause() || s.returning_list_size() > 0) {
      return SqlError(offset, "INSERT ... ON CONFLICT and RETURNING are not Flink SQL");
    }
    ASSIGN_OR_RETURN(ins.query, Query(s.select_stmt().select_stmt(), offset));
    st.node = std::move(ins);
  } else if (n.has_select_stmt()) {
    ASSIGN_OR_RETURN(auto q, Query(n.select_stmt(), offset));
    st.node = ast::Select{q};
  } else if (n.has_explain_stmt()) {
    ASSIGN_OR_RETURN(ast::Statement inner, StatementNode(n.explain_stmt().query(), offset));
    inner.offset = offset;
    st.node = ast::Explain{std::make_shared<const ast::Statement>(std::move(inner))};
  } else {
    return SqlError(offset, "unsupported statement: Sluice runs CREATE TABLE, CREATE VIEW, SET, "
                            "INSERT INTO, SELECT and EXPLAIN");
  }
  return st;
}

absl::StatusOr<ast::CreateTable> Converter::CreateTable(const pg_query::CreateStmt& s, int offset) {
  ast::CreateTable ct;
  ct.name = Name(s.relation());
  ct.offset = Loc(s.relation().location());
  ct.if_not_exists = s.if_not_exists();
  if (s.inh_relations_size() > 0 || s.has_partspec() || s.has_of_typename()) {
    return SqlError(offset, "CREATE TABLE: INHERITS, PARTITION BY and OF are not supported");
  }
  for (const auto& elt : s.table_elts()) {
    if (elt.has_column_def()) {
      const auto& cd = elt.column_def();
      ast::ColumnDef col;
      col.name = cd.colname();
      col.offset = Loc(cd.location());
      ASSIGN_OR_RETURN(col.type, Type(cd.type_name()));
      for (const auto& c : cd.constraints()) {
        const auto& con = c.constraint();
        if (con.contype() == pg_query::CONSTR_NOTNULL) {
          col.not_null = true;
        } else if (con.contype() == pg_query::CONSTR_PRIMARY) {
          ct.primary_key.push_back(col.name);
        } else if (con.contype() != pg_query::CONSTR_NULL) {
          return SqlError(Loc(con.location()), "CREATE TABLE: only NOT NULL and PRIMARY KEY "
                                               "constraints are supported");
        }
      }
      ct.columns.push_back(std::move(col));
    } else if (elt.has_constraint() && elt.constraint().contype() == pg_query::CONSTR_PRIMARY) {
      for (const auto& k : elt.constraint().keys()) ct.primary_key.push_back(NodeString(k));
    } else {
      return SqlError(offset, "CREATE TABLE: unsupported table element (expected columns, "
                              "computed columns, WATERMARK FOR and PRIMARY KEY)");
    }
  }
  // Computed columns and the watermark, taken out of the text by the dialect pass.
  auto ext = rw_.extensions.tables.find(offset);
  if (ext != rw_.extensions.tables.end()) {
    for (const ComputedColumnText& c : ext->second.computed) {
      ast::ColumnDef col;
      col.name = c.name;
      col.offset = c.name_offset;
      ASSIGN_OR_RETURN(col.computed, ExtensionExpr(c.expr));
      size_t at = std::min(static_cast<size_t>(c.index), ct.columns.size());
      ct.columns.insert(ct.columns.begin() + static_cast<std::ptrdiff_t>(at), std::move(col));
    }
    if (ext->second.watermark) {
      const WatermarkText& w = *ext->second.watermark;
      ASSIGN_OR_RETURN(ast::ExprPtr e, ExtensionExpr(w.expr));
      ct.watermark = std::make_pair(w.column, e);
      ct.watermark_offset = w.column_offset;
    }
  }
  for (const auto& o : s.options()) {
    const auto& d = o.def_elem();
    ast::Option opt;
    opt.key = d.defnamespace().empty() ? d.defname() : d.defnamespace() + "." + d.defname();
    opt.offset = Loc(d.location());
    const auto& a = d.arg();
    if (a.has_string()) opt.value = a.string().sval();
    else if (a.has_integer()) opt.value = std::to_string(a.integer().ival());
    else if (a.has_float_()) opt.value = a.float_().fval();
    else if (a.has_boolean()) opt.value = a.boolean().boolval() ? "true" : "false";
    else if (a.has_type_name() && a.type_name().names_size() > 0) {
      opt.value = NodeString(a.type_name().names(a.type_name().names_size() - 1));
    } else {
      return SQL_ERROR(opt.offset, "option '{}': expected a value in quotes, e.g. '{}' = 'value'",
                       opt.key, opt.key);
    }
    opt.value_offset = opt.offset;
    ct.options.push_back(std::move(opt));
  }
  return ct;
}

absl::StatusOr<ast::ExprPtr> Converter::ExtensionExpr(TextSpan span) {
  ASSIGN_OR_RETURN(RewrittenSql rw, RewriteFlinkDialect(source_, span, "SELECT "));
  ASSIGN_OR_RETURN(pg_query::ParseResult tree, PgParse(rw.text, rw, source_));
  if (tree.stmts_size() != 1 || !tree.stmts(0).stmt().has_select_stmt() ||
      tree.stmts(0).stmt().select_stmt().target_list_size() != 1) {
    return SqlError(span.begin, "expected one expression");
  }
  Converter inner(source_, rw);
  inner.fallback_ = span.begin;
  return inner.Expr(tree.stmts(0).stmt().select_stmt().target_list(0).res_target().val());
}

absl::StatusOr<ast::QueryPtr> Converter::Query(const pg_query::SelectStmt& s, int offset) {
  auto q = std::make_shared<ast::Query>();
  q->offset = offset;
  if (s.has_with_clause()) {  // also of a UNION ALL
    for (const auto& cte : s.with_clause().ctes()) {
      const auto& c = cte.common_table_expr();
      if (!c.ctequery().has_select_stmt()) return SqlError(Loc(c.location()), "WITH needs a query");
      ASSIGN_OR_RETURN(auto cq, Query(c.ctequery().select_stmt(), Loc(c.location())));
      q->with.emplace_back(c.ctename(), cq);
    }
  }
  if (s.op() == pg_query::SETOP_UNION) {
    if (!s.all()) {
      return SqlError(offset, "UNION without ALL (distinct rows) is not supported; write UNION ALL");
    }
    for (const auto* side : {&s.larg(), &s.rarg()}) {
      ASSIGN_OR_RETURN(ast::QueryPtr part, Query(*side, offset));
      if (!part->union_all.empty()) {
        q->union_all.insert(q->union_all.end(), part->union_all.begin(), part->union_all.end());
      } else {
        q->union_all.push_back(part);
      }
    }
    return q;
  }
  if (s.op() != pg_query::SETOP_NONE) {
    return SqlError(offset, "INTERSECT and EXCEPT are not supported");
  }
  if (s.values_lists_size() > 0) return SqlError(offset, "VALUES is not supported");
  if (s.has_into_clause() || s.locking_clause_size() > 0 || s.window_clause_size() > 0) {
    return SqlError(offset, "SELECT INTO, FOR UPDATE and WINDOW clauses are not supported");
  }
  q->distinct = s.distinct_clause_size() > 0;
  for (const auto& t : s.target_list()) {
    const auto& rt = t.res_target();
    ast::SelectItem item;
    item.offset = Loc(rt.location());
    item.alias = rt.name();
    const auto& v = rt.val();
    if (v.has_column_ref() && v.column_ref().fields_size() > 0 &&
        v.column_ref().fields(v.column_ref().fields_size() - 1).has_a_star()) {
      item.star = true;
      if (v.column_ref().fields_size() == 2) item.star_qualifier = NodeString(v.column_ref().fields(0));
    } else {
      ASSIGN_OR_RETURN(item.expr, Expr(v));
    }
    q->select.push_back(std::move(item));
  }
  for (const auto& f : s.from_clause()) {
    ASSIGN_OR_RETURN(auto ref, TableRef(f));
    q->from.push_back(ref);
  }
  if (s.has_where_clause()) { ASSIGN_OR_RETURN(q->where, Expr(s.where_clause())); }
  for (const auto& g : s.group_clause()) {
    ASSIGN_OR_RETURN(auto e, Expr(g));
    q->group_by.push_back(e);
  }
  if (s.has_having_clause()) { ASSIGN_OR_RETURN(q->having, Expr(s.having_clause())); }
  for (const auto& o : s.sort_clause()) {
    const auto& sb = o.sort_by();
    ASSIGN_OR_RETURN(auto e, Expr(sb.node()));
    q->order_by.push_back(ast::OrderItem{e, sb.sortby_dir() == pg_query::SORTBY_DESC});
  }
  if (s.has_limit_count()) {
    ASSIGN_OR_RETURN(auto lim, Expr(s.limit_count()));
    if (lim->kind != ast::ExprKind::kLiteral || !std::holds_alternative<int64_t>(lim->value)) {
      return SqlError(lim->offset, "LIMIT needs an integer");
    }
    q->limit = std::get<int64_t>(lim->value);
  }
  return q;
}

absl::StatusOr<ast::TableRefPtr> Converter::TableRef(const pg_query::Node& n) {
  auto ref = std::make_shared<ast::TableRef>();
  if (n.has_range_var()) {
    const auto& rv = n.range_var();
    ref->kind = ast::TableRefKind::kTable;
    ref->name = Name(rv);
    ref->offset = Loc(rv.location());
    ref->alias = rv.alias().aliasname();
    auto lt = rw_.extensions.lookups.find(ref->offset);
    if (lt != rw_.extensions.lookups.end()) {
      auto e = std::make_shared<ast::Expr>();
      e->kind = ast::ExprKind::kColumn;
      e->offset = lt->second.offset;
      e->name = lt->second.column;
      e->qualifier = lt->second.qualifier;
      ref->system_time = e;
    }
  } else if (n.has_range_subselect()) {
    const auto& rs = n.range_subselect();
    ref->kind = ast::TableRefKind::kSubquery;
    ref->alias = rs.alias().aliasname();
    if (!rs.subquery().has_select_stmt()) return SqlError(fallback_, "expected a subquery");
    ref->offset = fallback_;
    ASSIGN_OR_RETURN(ref->subquery, Query(rs.subquery().select_stmt(), fallback_));
  } else if (n.has_join_expr()) {
    const auto& j = n.join_expr();
    ref->kind = ast::TableRefKind::kJoin;
    ref->offset = fallback_;
    if (j.is_natural() || j.using_clause_size() > 0) {
      return SqlError(fallback_, "NATURAL JOIN and JOIN ... USING are not supported; write ON");
    }
    switch (j.jointype()) {
      case pg_query::JOIN_INNER: ref->join_type = j.has_quals() ? ast::JoinType::kInner
                                                                : ast::JoinType::kCross; break;
      case pg_query::JOIN_LEFT: ref->join_type = ast::JoinType::kLeft; break;
      case pg_query::JOIN_RIGHT: ref->join_type = ast::JoinType::kRight; break;
      case pg_query::JOIN_FULL: ref->join_type = ast::JoinType::kFull; break;
      default: return SqlError(fallback_, "unsupported join type");
    }
    ASSIGN_OR_RETURN(ref->left, TableRef(j.larg()));
    ASSIGN_OR_RETURN(ref->right, TableRef(j.rarg()));
    ref->offset = ref->right->offset;
    if (j.has_quals()) { ASSIGN_OR_RETURN(ref->on, Expr(j.quals())); }
    ref->alias = j.alias().aliasname();
  } else if (n.has_range_function()) {
    const auto& rf = n.range_function();
    ref->kind = ast::TableRefKind::kFunction;
    ref->alias = rf.alias().aliasname();
    if (rf.functions_size() != 1 || !rf.functions(0).has_list() ||
        rf.functions(0).list().items_size() < 1 || !rf.functions(0).list().items(0).has_func_call()) {
      return SqlError(fallback_, "unsupported table function");
    }
    const auto& fc = rf.functions(0).list().items(0).func_call();
    ref->offset = Loc(fc.location());
    ref->name = absl::AsciiStrToLower(NodeString(fc.funcname(fc.funcname_size() - 1)));
    for (const auto& a : fc.args()) {
      if (a.has_named_arg_expr()) {
        ref->arg_names.push_back(absl::AsciiStrToLower(a.named_arg_expr().name()));
        ASSIGN_OR_RETURN(auto e, Expr(a.named_arg_expr().arg()));
        ref->args.push_back(e);
      } else {
        ref->arg_names.emplace_back();
        ASSIGN_OR_RETURN(auto e, Expr(a));
        ref->args.push_back(e);
      }
    }
  } else {
    return SqlError(fallback_, "unsupported FROM item");
  }
  return std::shared_ptr<const ast::TableRef>(ref);
}

}  // namespace sluice::sql
