#include "client/sql_client.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/sql/sql_compiler.h"

namespace sluice::client {
namespace {

namespace fs = std::filesystem;

int CountLines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

std::string FirstWord(const std::string& stmt) {
  std::string w;
  for (char c : stmt) {
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) w += absl::ascii_toupper(static_cast<unsigned char>(c));
    else if (!w.empty()) break;
  }
  return w;
}

// Splits one CSV line (the file sink's quoting: "" inside quotes).
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { out.back() += '"'; ++i; }
      else if (c == '"') quoted = false;
      else out.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

// The result of a SELECT: its committed changelog files, applied.
class ResultTable {
 public:
  explicit ResultTable(fs::path dir) : dir_(std::move(dir)) {}

  // Reads the part files committed since the last call.
  void Refresh() {
    std::error_code ec;
    std::vector<fs::path> parts;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("part-", 0) == 0 && !read_.count(name)) parts.push_back(e.path());
    }
    std::sort(parts.begin(), parts.end());
    for (const fs::path& p : parts) {
      read_.insert(p.filename().string());
      std::ifstream in(p);
      std::string line;
      bool first = true;
      while (std::getline(in, line)) {
        std::vector<std::string> fields = SplitCsv(line);
        if (first) {
          first = false;
          if (header_.empty()) header_.assign(fields.begin() + 1, fields.end());
          continue;
        }
        const std::string op = fields.front();
        fields.erase(fields.begin());
        if (op == "+I" || op == "+U") {
          ++rows_[fields];
        } else if (auto it = rows_.find(fields); it != rows_.end() && --it->second == 0) {
          rows_.erase(it);
        }
      }
    }
  }

  void Render(std::ostream& out, size_t max_rows) const {
    if (header_.empty()) {
      out << "(no rows yet)\n";
      return;
    }
    std::vector<size_t> width(header_.size());
    for (size_t i = 0; i < header_.size(); ++i) width[i] = header_[i].size();
    size_t shown = 0;
    for (const auto& [row, n] : rows_) {
      if (shown++ >= max_rows) break;
      for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
        width[i] = std::min<size_t>(40, std::max(width[i], row[i].size()));
      }
    }
    auto line = [&](const std::vector<std::string>& cells) {
      for (size_t i = 0; i < width.size(); ++i) {
        std::string c = i < cells.size() ? cells[i] : "";
        if (c.size() > width[i]) c = c.substr(0, width[i] - 1) + "~";
        out << (i == 0 ? "| " : " | ") << c << std::string(width[i] - c.size(), ' ');
      }
      out << " |\n";
    };
    line(header_);
    size_t total = 0;
    shown = 0;
    for (const auto& [row, n] : rows_) {
      total += static_cast<size_t>(n);
      for (int k = 0; k < n; ++k) {
        if (shown++ < max_rows) line(row);
      }
    }
    out << fmt::format("{} row{}{}\n", total, total == 1 ? "" : "s",
                       total > max_rows ? fmt::format(" ({} shown)", max_rows) : "");
  }

 private:
  fs::path dir_;
  std::set<std::string> read_;
  std::vector<std::string> header_;
  std::map<std::vector<std::string>, int> rows_;
};

class Session {
 public:
  Session(DispatcherClient& client, const SqlClientOptions& o) : client_(client), o_(o) {}

  int Run() {
    std::ofstream history;
    if (!o_.history_file.empty()) history.open(o_.history_file, std::ios::app);
    if (o_.terminal) {
      *o_.out << "Sluice SQL client. Statements end with ';'. CREATE/SET are kept for the "
                 "session, INSERT submits a job, SELECT shows its result (Ctrl-C stops it). "
                 "quit; ends.\n";
    }
    std::string stmt;
    for (;;) {
      if (o_.terminal) *o_.out << (stmt.empty() ? "sluice> " : "     > ") << std::flush;
      std::string line;
      if (!std::getline(*o_.in, line)) break;
      stmt += line + "\n";
      const std::string trimmed(absl::StripTrailingAsciiWhitespace(stmt));
      if (trimmed.empty()) {
        stmt.clear();
        continue;
      }
      if (trimmed.back() != ';') continue;
      if (history.is_open()) history << trimmed << "\n";
      const std::string word = FirstWord(trimmed);
      if (word == "QUIT" || word == "EXIT") break;
      ok_ = Execute(word, trimmed + "\n");
      stmt.clear();
    }
    return ok_ || o_.terminal ? 0 : 1;
  }

 private:
  // Compiles the session's statements plus `stmt`; prints the errors of `stmt` (lines counted
  // within it). nullopt on errors.
  std::optional<sql::CompiledSql> Compile(const std::string& stmt, const sql::SqlOptions& opts,
                                          const std::string& prefix = "") {
    const std::string text = prefix + session_ + stmt;
    const int before = CountLines(prefix + session_);
    sql::SourceText source("<statement>", text);
    std::error_code ec;
    sql::CompiledSql c = sql::CompileSql(source, fs::current_path(ec).string(), opts);
    if (c.ok()) return c;
    for (const sql::SqlProblem& p : c.problems) {
      if (p.line > before) {
        *o_.out << fmt::format("[ERROR] line {}, column {}: {}\n", p.line - before, p.column,
                               p.message);
      } else {
        *o_.out << fmt::format("[ERROR] {}\n", p.message);
      }
    }
    return std::nullopt;
  }

  bool Execute(const std::string& word, const std::string& stmt) {
    if (word == "SELECT" || word == "WITH") return Select(stmt);
    auto c = Compile(stmt, {});
    if (!c) return false;
    if (word == "EXPLAIN") {
      for (const std::string& e : c->explains) *o_.out << e;
      return true;
    }
    if (word == "INSERT" || word == "EXECUTE" || word == "BEGIN") {
      auto id = Submit(*c);
      if (!id) return false;
      *o_.out << "[INFO] Submitted the INSERT as job " << *id << "\n";
      return true;
    }
    session_ += stmt;  // CREATE TABLE/VIEW, SET
    *o_.out << "[INFO] Execute statement succeeded.\n";
    return true;
  }

  std::optional<std::string> Submit(const sql::CompiledSql& c) {
    v1::JobSubmission job;
    job.set_spec_yaml(c.spec_yaml);
    job.set_spec_path("<sql client> (generated job spec)");
    std::error_code ec;
    job.set_base_dir(fs::current_path(ec).string());
    auto id = client_.SubmitJob(job);
    if (!id.ok()) {
      *o_.out << "[ERROR] " << id.status().message() << "\n";
      return std::nullopt;
    }
    return *id;
  }

  bool Select(const std::string& stmt) {
    const fs::path dir = fs::temp_directory_path() /
                         fmt::format("sluice-sql-result-{}-{}", ::getpid(), ++selects_);
    std::error_code ec;
    fs::remove_all(dir, ec);
    sql::SqlOptions opts;
    opts.select_result_dir = dir.string();
    // Results are committed at checkpoints: every second unless the session chose otherwise,
    // into a temporary directory unless it named one.
    std::string prefix;
    if (session_.find("execution.checkpointing.interval") == std::string::npos) {
      prefix += "SET 'execution.checkpointing.interval' = '1 s';\n";
    }
    if (session_.find("checkpoints.dir") == std::string::npos &&
        session_.find("checkpointing.dir") == std::string::npos) {
      prefix += fmt::format("SET 'state.checkpoints.dir' = '{}';\n",
                            (dir.parent_path() / "sluice-sql-checkpoints").string());
    }
    auto c = Compile(stmt, opts, prefix);
    if (!c) return false;
    if (o_.interrupted != nullptr) o_.interrupted->store(false);  // a Ctrl-C at the prompt
    auto id = Submit(*c);
    if (!id) return false;
    ResultTable table(dir);
    std::string state;
    for (;;) {
      auto job = client_.GetJob(*id);
      if (!job.ok()) {
        *o_.out << "[ERROR] " << job.status().message() << "\n";
        return false;
      }
      state = job->job().state();
      const bool done = state == "FINISHED" || state == "FAILED" || state == "CANCELED";
      table.Refresh();
      if (o_.terminal) {
        *o_.out << "\x1b[H\x1b[2J";
        table.Render(*o_.out, 50);
        *o_.out << fmt::format("job {} {}{}\n", *id, state, done ? "" : "; Ctrl-C stops it")
                << std::flush;
      }
      if (done) {
        if (state == "FAILED") *o_.out << "[ERROR] " << job->job().failure_cause() << "\n";
        break;
      }
      if (o_.interrupted != nullptr && o_.interrupted->exchange(false)) {
        if (absl::Status st = client_.CancelJob(*id); !st.ok()) {
          *o_.out << "[ERROR] " << st.message() << "\n";
        }
        if (o_.rearm_interrupt) o_.rearm_interrupt();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));  // polling interval
    }
    if (!o_.terminal) table.Render(*o_.out, 1'000'000);
    fs::remove_all(dir, ec);
    return state == "FINISHED" || state == "CANCELED";
  }

  DispatcherClient& client_;
  const SqlClientOptions& o_;
  std::string session_;
  int selects_ = 0;
  bool ok_ = true;
};

}  // namespace

int RunSqlClient(DispatcherClient& client, const SqlClientOptions& options) {
  return Session(client, options).Run();
}

}  // namespace sluice::client
