#pragma once
// The interactive SQL client: `sluice sql` without a script (Flink's SQL client, table mode).
// Statements end with ';' and may span lines. CREATE TABLE/VIEW and SET are checked and kept
// for the session; INSERT INTO submits a job (detached) and prints its id; EXPLAIN prints the
// plan; a SELECT runs as a job whose result is shown as a table, updated in place on a
// terminal as its changelog arrives (about once a second: the result is committed at each
// checkpoint), until the job finishes or Ctrl-C cancels it. Errors name the line and column
// within the statement; the session goes on. `quit;` or end of input ends it.
//
// The SELECT's result travels through files: the job writes a changelog CSV into a temporary
// directory that the client reads, so the client must share a filesystem with the
// TaskManagers (a local cluster, `--local`, or the same host). History is kept in
// ~/.sluice_sql_history.

#include <atomic>
#include <functional>
#include <istream>
#include <ostream>
#include <string>

#include "client/dispatcher_client.h"

namespace sluice::client {

struct SqlClientOptions {
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  bool terminal = false;  // prompts, and results redrawn in place
  // Set asynchronously (SIGINT): stops the SELECT being shown (its job is cancelled).
  std::atomic<bool>* interrupted = nullptr;
  std::function<void()> rearm_interrupt = nullptr;  // reinstalls the SIGINT handler
  std::string history_file = {};  // empty: no history
};

// Runs the session until `quit;` or the end of input. Returns 0, or 1 if the last statement
// failed when the input is not a terminal (so that scripts piped in report failure).
int RunSqlClient(DispatcherClient& client, const SqlClientOptions& options);

}  // namespace sluice::client
