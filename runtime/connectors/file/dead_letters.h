#pragma once
// The file source's dead-letter files (`bad-records: dead-letter`): each bad row becomes one
// JSON line {"file": ..., "line": n, "error": "...", "row": "<the line as read>"} in
// <dir>/bad-records-<subtask>.jsonl, appended, so nothing is lost and the rows can be fixed and
// replayed. Flush (called by the source at every checkpoint) writes and fsyncs what was
// appended, so a completed checkpoint never loses a dead letter; rows read again after a
// restore may be dead-lettered twice (at-least-once, as Kafka's dead-letter queue).
//
// Errors: Open and Flush return Unavailable naming the file and the OS error.
// Thread: the source subtask's thread.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace sluice::connectors {

class FileDeadLetters {
 public:
  FileDeadLetters() = default;
  ~FileDeadLetters();
  FileDeadLetters(const FileDeadLetters&) = delete;
  FileDeadLetters& operator=(const FileDeadLetters&) = delete;

  // Creates `dir` if needed and opens <dir>/bad-records-<subtask>.jsonl for appending.
  absl::Status Open(const std::string& dir, int subtask);
  // `line` <= 0: unknown (then the JSON has "offset" instead, the byte offset).
  absl::Status Write(std::string_view file, int64_t line, int64_t offset, std::string_view error,
                     std::string_view row);
  absl::Status Flush();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

}  // namespace sluice::connectors
