#include "runtime/sql/flink_dialect.h"

#include <pg_query.h>

#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "pg_query/pg_query.pb.h"
#include "runtime/base/status.h"

namespace sluice::sql {

int RewrittenSql::Original(int offset) const {
  if (to_original.empty()) return 0;
  if (offset < 0) offset = 0;
  if (offset >= static_cast<int>(to_original.size())) offset = static_cast<int>(to_original.size()) - 1;
  return to_original[static_cast<size_t>(offset)];
}

namespace {

enum class Tok { kWord, kQuoted, kBackquoted, kString, kNumber, kPunct };

struct Token {
  Tok kind;
  int begin;  // original offsets
  int end;
  std::string text;         // as written
  bool keyword = false;     // a PostgreSQL keyword (kWord only)
  std::optional<std::string> replacement = std::nullopt;  // "" deletes the token
};

bool IsWordStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80) != 0;
}
bool IsWordChar(char c) {
  return IsWordStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}

// Splits text[span) into tokens; whitespace and comments are left between them.
absl::StatusOr<std::vector<Token>> Tokenize(const std::string& text, TextSpan span) {
  std::vector<Token> out;
  int i = span.begin;
  const int n = span.end;
  auto at = [&](int k) { return k < n ? text[static_cast<size_t>(k)] : '\0'; };
  while (i < n) {
    const char c = at(i);
    if (std::isspace(static_cast<unsigned char>(c))) { ++i; continue; }
    if (c == '-' && at(i + 1) == '-') {
      while (i < n && at(i) != '\n') ++i;
      continue;
    }
    if (c == '/' && at(i + 1) == '*') {
      int start = i;
      i += 2;
      while (i < n && !(at(i) == '*' && at(i + 1) == '/')) ++i;
      if (i >= n) return SqlError(start, "unterminated /* comment");
      i += 2;
      continue;
    }
    Token t{Tok::kPunct, i, i, ""};
    if (c == '\'' || c == '"' || c == '`') {
      t.kind = c == '\'' ? Tok::kString : c == '"' ? Tok::kQuoted : Tok::kBackquoted;
      int k = i + 1;
      for (;;) {
        if (k >= n) {
          return SqlError(i, t.kind == Tok::kString ? "unterminated string literal"
                                                   : "unterminated quoted identifier");
        }
        if (at(k) == c) {
          if (at(k + 1) == c) { k += 2; continue; }  // doubled quote
          ++k;
          break;
        }
        ++k;
      }
      t.end = k;
    } else if (IsWordStart(c)) {
      int k = i;
      while (k < n && IsWordChar(at(k))) ++k;
      t.kind = Tok::kWord;
      t.end = k;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && std::isdigit(static_cast<unsigned char>(at(i + 1))))) {
      int k = i;
      while (k < n && (std::isalnum(static_cast<unsigned char>(at(k))) || at(k) == '.' ||
                       ((at(k) == '+' || at(k) == '-') && (at(k - 1) == 'e' || at(k - 1) == 'E')))) {
        ++k;
      }
      t.kind = Tok::kNumber;
      t.end = k;
    } else {
      static const char* kMulti[] = {"<=", ">=", "<>", "!=", "||", "=>", "::"};
      t.end = i + 1;
      for (const char* m : kMulti) {
        if (c == m[0] && at(i + 1) == m[1]) t.end = i + 2;
      }
    }
    t.text = text.substr(static_cast<size_t>(t.begin), static_cast<size_t>(t.end - t.begin));
    out.push_back(std::move(t));
    i = out.back().end;
  }
  return out;
}

// Marks the words PostgreSQL treats as keywords (they must not be quoted: quoting makes them
// identifiers), using libpg_query's own scanner on the text with backquotes made double quotes.
absl::Status MarkKeywords(const std::string& text, TextSpan span, std::vector<Token>& tokens) {
  std::string scan_text = text.substr(static_cast<size_t>(span.begin),
                                      static_cast<size_t>(span.end - span.begin));
  for (const Token& t : tokens) {
    if (t.kind == Tok::kBackquoted) {
      scan_text[static_cast<size_t>(t.begin - span.begin)] = '"';
      scan_text[static_cast<size_t>(t.end - 1 - span.begin)] = '"';
    }
  }
  PgQueryScanResult r = pg_query_scan(scan_text.c_str());
  if (r.error != nullptr) {
    int pos = span.begin + std::max(0, r.error->cursorpos - 1);
    std::string msg = r.error->message;
    pg_query_free_scan_result(r);
    return SqlError(pos, msg);
  }
  pg_query::ScanResult scan;
  const bool parsed = scan.ParseFromArray(r.pbuf.data, static_cast<int>(r.pbuf.len));
  pg_query_free_scan_result(r);
  if (!parsed) return SqlError(span.begin, "internal error: cannot read the SQL scanner's output");
  std::set<int> keywords;
  for (const auto& st : scan.tokens()) {
    if (st.keyword_kind() != pg_query::NO_KEYWORD) keywords.insert(span.begin + st.start());
  }
  for (Token& t : tokens) t.keyword = t.kind == Tok::kWord && keywords.count(t.begin) > 0;
  return absl::OkStatus();
}

bool Is(const Token& t, std::string_view word) {
  if (t.kind != Tok::kWord || t.text.size() != word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(t.text[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(word[i]))) {
      return false;
    }
  }
  return true;
}
bool IsPunct(const Token& t, std::string_view p) { return t.kind == Tok::kPunct && t.text == p; }

std::string Unquote(const Token& t) {
  if (t.kind == Tok::kWord) return t.text;
  const char q = t.text[0];
  std::string out;
  for (size_t i = 1; i + 1 < t.text.size(); ++i) {
    out += t.text[i];
    if (t.text[i] == q) ++i;  // doubled quote
  }
  return out;
}

std::string DoubleQuoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// The rewriting passes over one script's tokens.
class Rewriter {
 public:
  Rewriter(std::vector<Token>& tokens, DialectExtensions& ext) : t_(tokens), ext_(ext) {}

  absl::Status Run() {
    size_t stmt_begin = 0;
    int depth = 0;
    for (size_t i = 0; i < t_.size(); ++i) {
      if (IsPunct(t_[i], "(")) ++depth;
      if (IsPunct(t_[i], ")")) --depth;
      if (IsPunct(t_[i], ";") && depth <= 0) {
        RETURN_IF_ERROR(Statement(stmt_begin, i));
        stmt_begin = i + 1;
        depth = 0;
      }
    }
    RETURN_IF_ERROR(Statement(stmt_begin, t_.size()));
    return Tokens();
  }

 private:
  // Statement-level forms, in [b, e).
  absl::Status Statement(size_t b, size_t e) {
    if (b >= e) return absl::OkStatus();
    // BEGIN STATEMENT SET / EXECUTE STATEMENT SET BEGIN: the statement set's statements
    // follow; END closes it. All INSERTs of a script form one job anyway.
    if (Is(t_[b], "EXECUTE") && b + 3 < e && Is(t_[b + 1], "STATEMENT") && Is(t_[b + 2], "SET") &&
        Is(t_[b + 3], "BEGIN")) {
      for (size_t k = b; k < b + 4; ++k) Delete(k);
      return Statement(b + 4, e);
    }
    if (Is(t_[b], "BEGIN") && b + 2 < e + 1 && b + 2 < t_.size() && Is(t_[b + 1], "STATEMENT") &&
        Is(t_[b + 2], "SET")) {
      for (size_t k = b; k < std::min(e + 1, t_.size()); ++k) Delete(k);  // with its ';'
      return absl::OkStatus();
    }
    if (Is(t_[b], "END") && e == b + 1) {
      for (size_t k = b; k < std::min(e + 1, t_.size()); ++k) Delete(k);
      return absl::OkStatus();
    }
    if (Is(t_[b], "SET") && b + 1 < e && t_[b + 1].kind == Tok::kString) {
      t_[b + 1].replacement = DoubleQuoted(Unquote(t_[b + 1]));
    }
    if (Is(t_[b], "CREATE")) {
      size_t k = b + 1;
      if (k < e && Is(t_[k], "TEMPORARY")) Delete(k++);
      if (k < e && Is(t_[k], "SYSTEM")) Delete(k++);
      if (k < e && Is(t_[k], "FUNCTION")) return CreateFunction(k + 1, e);
      if (k < e && Is(t_[k], "TABLE")) RETURN_IF_ERROR(CreateTable(b, k + 1, e));
    }
    return Expressions(b, e);
  }

  // CREATE FUNCTION [IF NOT EXISTS] name AS 'identifier' [LANGUAGE lang]: PostgreSQL needs an
  // argument list after the name.
  absl::Status CreateFunction(size_t k, size_t e) {
    if (k + 2 < e && Is(t_[k], "IF") && Is(t_[k + 1], "NOT") && Is(t_[k + 2], "EXISTS")) {
      for (size_t i = k; i < k + 3; ++i) Delete(i);
      k += 3;
    }
    if (k >= e || (t_[k].kind != Tok::kWord && t_[k].kind != Tok::kQuoted &&
                   t_[k].kind != Tok::kBackquoted)) {
      return SqlError(k < e ? t_[k].begin : t_[e - 1].end, "expected CREATE FUNCTION <name> AS "
                                                           "'<identifier>'");
    }
    t_[k].replacement = DoubleQuoted(Unquote(t_[k])) + "()";
    return absl::OkStatus();
  }

  // CREATE TABLE name [( columns )] [WITH ( options )]. Without a column list (an
  // avro-confluent table whose columns come from the schema registry) PostgreSQL needs "()".
  absl::Status CreateTable(size_t create, size_t k, size_t e) {
    while (k < e && !IsPunct(t_[k], "(") && !Is(t_[k], "WITH")) ++k;  // the (qualified) name
    if (k >= e) return absl::OkStatus();                              // the parser reports it
    if (Is(t_[k], "WITH")) {
      t_[k].replacement = "() WITH";
      QuoteOptionKeys(k - 1, e);
      return absl::OkStatus();
    }
    size_t close = Matching(k, e);
    TableExtensions ext;
    size_t elem = k + 1;
    int index = 0;
    for (size_t i = k + 1; i <= close && i < e; ++i) {
      if (i == close || (IsPunct(t_[i], ",") && Depth(k + 1, i) == 0)) {
        RETURN_IF_ERROR(ColumnElement(elem, i, index, ext));
        ++index;
        elem = i + 1;
      }
    }
    if (!ext.computed.empty() || ext.watermark) ext_.tables[t_[create].begin] = std::move(ext);
    QuoteOptionKeys(close, e);
    return absl::OkStatus();
  }

  // WITH ('key' = 'value', ...) after token `after`: the keys become quoted identifiers.
  void QuoteOptionKeys(size_t after, size_t e) {
    for (size_t i = after + 1; i + 1 < e; ++i) {
      if (Is(t_[i], "WITH") && IsPunct(t_[i + 1], "(")) {
        size_t end = Matching(i + 1, e);
        for (size_t j = i + 2; j + 1 < end; ++j) {
          if (t_[j].kind == Tok::kString && IsPunct(t_[j + 1], "=")) {
            t_[j].replacement = DoubleQuoted(Unquote(t_[j]));
          }
        }
      }
    }
  }

  // One element of a CREATE TABLE's list, tokens [b, e) (e is the ',' or ')' after it).
  absl::Status ColumnElement(size_t b, size_t e, int index, TableExtensions& ext) {
    if (b >= e) return absl::OkStatus();
    if (Is(t_[b], "WATERMARK")) {
      if (b + 3 >= e || !Is(t_[b + 1], "FOR") || !Is(t_[b + 3], "AS") || b + 4 >= e) {
        return SqlError(t_[b].begin, "expected WATERMARK FOR <column> AS <expression>");
      }
      if (ext.watermark) return SqlError(t_[b].begin, "a table has at most one WATERMARK");
      ext.watermark = WatermarkText{Unquote(t_[b + 2]), t_[b + 2].begin,
                                    TextSpan{t_[b + 4].begin, t_[e - 1].end}};
      return DeleteElement(b, e);
    }
    if (b + 2 < e && (t_[b].kind == Tok::kWord || t_[b].kind == Tok::kQuoted ||
                      t_[b].kind == Tok::kBackquoted) && Is(t_[b + 1], "AS")) {
      ext.computed.push_back(ComputedColumnText{Unquote(t_[b]), t_[b].begin,
                                                TextSpan{t_[b + 2].begin, t_[e - 1].end}, index});
      return DeleteElement(b, e);
    }
    for (size_t i = b; i + 1 < e; ++i) {
      if (Is(t_[i], "NOT") && Is(t_[i + 1], "ENFORCED")) {
        Delete(i);
        Delete(i + 1);
      }
    }
    return absl::OkStatus();
  }

  // Deletes a column-list element and the comma before it (or, for the first, after it).
  absl::Status DeleteElement(size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) Delete(i);
    if (IsPunct(t_[b - 1], ",")) {
      Delete(b - 1);
    } else if (IsPunct(t_[e], ",")) {
      Delete(e);
    }
    return absl::OkStatus();
  }

  // Expression-level forms anywhere in [b, e).
  absl::Status Expressions(size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      Token& t = t_[i];
      if (t.replacement) continue;
      const bool next_lt = i + 1 < e && IsPunct(t_[i + 1], "<");
      if (next_lt && (Is(t, "ROW") || Is(t, "ARRAY") || Is(t, "MAP") || Is(t, "MULTISET"))) {
        return SQL_ERROR(t.begin, "type {}<...> is not supported: Sluice's columns are scalar "
                                  "(BIGINT, INT, DOUBLE, STRING, BOOLEAN, TIMESTAMP, DATE, BYTES)",
                         absl::AsciiStrToUpper(t.text));
      }
      if (Is(t, "TABLE") && i + 2 < e && IsPunct(t_[i + 1], "(") && t_[i + 2].kind != Tok::kPunct) {
        // TABLE(fn(...)): a table function call; keep the call.
        Delete(i);
        Delete(i + 1);
        Delete(Matching(i + 1, e));
        continue;
      }
      if (Is(t, "TABLE") && i > b && (IsPunct(t_[i - 1], "(") || IsPunct(t_[i - 1], ",") ||
                                      IsPunct(t_[i - 1], "=>"))) {
        Delete(i);  // TABLE t as a table function's argument
        continue;
      }
      if (Is(t, "DESCRIPTOR") && i + 3 < e && IsPunct(t_[i + 1], "(") && IsPunct(t_[i + 3], ")")) {
        Delete(i);
        Delete(i + 1);
        Delete(i + 3);
        continue;
      }
      if (Is(t, "FOR") && i + 4 < e && Is(t_[i + 1], "SYSTEM_TIME") && Is(t_[i + 2], "AS") &&
          Is(t_[i + 3], "OF")) {
        RETURN_IF_ERROR(LookupTime(i, e));
        continue;
      }
      if (Is(t, "PARTITIONED") && i + 1 < e && Is(t_[i + 1], "BY")) {
        return SqlError(t.begin, "PARTITIONED BY (partitioned file tables) is not supported");
      }
      if (IsPunct(t, "(") && i > b && i + 1 < e &&
          (Is(t_[i - 1], "FROM") || Is(t_[i - 1], "JOIN") || IsPunct(t_[i - 1], ",")) &&
          (Is(t_[i + 1], "SELECT") || Is(t_[i + 1], "WITH"))) {
        // A subquery in FROM without an alias: PostgreSQL needs one, Flink does not.
        const size_t close = Matching(i, e);
        if (close + 1 >= e || NeedsAlias(t_[close + 1])) {
          t_[close].replacement = ") AS \"$subquery" + std::to_string(++subqueries_) + "\"";
        }
      }
      if (Is(t, "DOUBLE") && !(i + 1 < e && Is(t_[i + 1], "PRECISION"))) {
        t.replacement = "DOUBLE PRECISION";
        continue;
      }
    }
    return absl::OkStatus();
  }

  // FOR SYSTEM_TIME AS OF [q.]c at token i.
  absl::Status LookupTime(size_t i, size_t e) {
    if (i == 0) return SqlError(t_[i].begin, "FOR SYSTEM_TIME AS OF must follow a table");
    size_t k = i + 4;
    std::vector<std::string> parts;
    while (k < e) {
      if (t_[k].kind != Tok::kWord && t_[k].kind != Tok::kQuoted && t_[k].kind != Tok::kBackquoted) {
        break;
      }
      parts.push_back(Unquote(t_[k]));
      ++k;
      if (k < e && IsPunct(t_[k], ".")) { ++k; continue; }
      break;
    }
    if (parts.empty() || parts.size() > 2) {
      return SqlError(t_[i].begin, "FOR SYSTEM_TIME AS OF needs a column, e.g. "
                                   "FOR SYSTEM_TIME AS OF o.proc_time");
    }
    LookupTimeText lt;
    lt.column = parts.back();
    if (parts.size() == 2) lt.qualifier = parts[0];
    lt.offset = t_[i + 4].begin;
    ext_.lookups[t_[i - 1].begin] = lt;
    for (size_t j = i; j < k; ++j) Delete(j);
    return absl::OkStatus();
  }

  // Quotes identifiers to keep their case; backquotes become double quotes.
  absl::Status Tokens() {
    for (Token& t : t_) {
      if (t.replacement) continue;
      if (t.kind == Tok::kBackquoted || (t.kind == Tok::kWord && !t.keyword)) {
        t.replacement = DoubleQuoted(Unquote(t));
      }
    }
    return absl::OkStatus();
  }

  // Whether the token after a FROM subquery's ')' shows that it has no alias.
  static bool NeedsAlias(const Token& t) {
    for (const char* w : {"WHERE", "GROUP", "HAVING", "ON", "JOIN", "INNER", "LEFT", "RIGHT",
                          "FULL", "CROSS", "UNION", "ORDER", "LIMIT", "WINDOW"}) {
      if (Is(t, w)) return true;
    }
    return IsPunct(t, ")") || IsPunct(t, ";") || IsPunct(t, ",");
  }

  size_t Matching(size_t open, size_t e) const {
    int depth = 0;
    for (size_t i = open; i < e; ++i) {
      if (IsPunct(t_[i], "(")) ++depth;
      if (IsPunct(t_[i], ")") && --depth == 0) return i;
    }
    return e - 1;
  }
  int Depth(size_t b, size_t e) const {
    int d = 0;
    for (size_t i = b; i < e; ++i) {
      if (IsPunct(t_[i], "(")) ++d;
      if (IsPunct(t_[i], ")")) --d;
    }
    return d;
  }
  void Delete(size_t i) {
    if (i < t_.size()) t_[i].replacement = "";
  }

  std::vector<Token>& t_;
  DialectExtensions& ext_;
  int subqueries_ = 0;
};

}  // namespace

std::string TokenAt(const SourceText& source, int offset) {
  const int n = static_cast<int>(source.text().size());
  int end = std::min(n, offset + 200);
  auto tokens = Tokenize(source.text(), TextSpan{std::min(offset, n), end});
  if (!tokens.ok() || tokens->empty()) return "";
  return tokens->front().text;
}

absl::StatusOr<RewrittenSql> RewriteFlinkDialect(const SourceText& source, TextSpan span,
                                                 std::string_view prefix) {
  const std::string& text = source.text();
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text, span));
  RETURN_IF_ERROR(MarkKeywords(text, span, tokens));
  RewrittenSql out;
  Rewriter rw(tokens, out.extensions);
  RETURN_IF_ERROR(rw.Run());
  auto emit = [&](std::string_view s, int original, bool map_each) {
    for (size_t k = 0; k < s.size(); ++k) {
      out.text += s[k];
      out.to_original.push_back(map_each ? original + static_cast<int>(k) : original);
    }
  };
  emit(prefix, span.begin, false);
  int pos = span.begin;
  for (const Token& t : tokens) {
    emit(std::string_view(text).substr(static_cast<size_t>(pos), static_cast<size_t>(t.begin - pos)),
         pos, true);
    if (t.replacement) {
      emit(*t.replacement, t.begin, false);
    } else {
      emit(t.text, t.begin, true);
    }
    pos = t.end;
  }
  emit(std::string_view(text).substr(static_cast<size_t>(pos), static_cast<size_t>(span.end - pos)),
       pos, true);
  out.to_original.push_back(span.end);
  return out;
}

}  // namespace sluice::sql
