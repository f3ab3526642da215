#pragma once
// The file source's splits and checkpointed positions (internal to runtime/connectors/file; the
// state format is documented in csv_source.h): what a subtask reads, how a position is encoded,
// and the checks a restore makes.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/formats/state_codec.h"

namespace sluice::connectors {

// A part of one file read by one subtask: lines starting in [start, end) of the (uncompressed)
// file; gzip splits always cover the whole file. Also holds the reading position restored from
// a checkpoint.
struct Split {
  std::string path;
  bool gz = false;
  int64_t start = 0;
  int64_t end = 0;  // exclusive; INT64_MAX for gzip
  // Restored position: the offset of the next unread line (a line start, so no partial line is
  // skipped), or -1 to start the split from `start`.
  int64_t resume_offset = -1;
  // Number of the next line to read (see csv_source.h: absolute when start == 0, else counted
  // from the split's first whole line). Maintained while the split is read.
  int64_t next_line = 1;
  // Restored as fully read (its status in a snapshot stays "finished"); PollNext skips it.
  bool finished = false;
};

// One file of the expanded input list.
struct InputFile {
  std::string path;
  bool gz = false;
  int64_t size = 0;  // plain files: bytes at Open
};

inline constexpr std::string_view kStateMagic = "CSVS";
inline constexpr uint32_t kStateVersion = 1;
// Split status in the state.
constexpr uint8_t kSplitPending = 0;
constexpr uint8_t kSplitReading = 1;
constexpr uint8_t kSplitFinished = 2;

inline std::string DescribeRange(const Split& s) {
  if (s.gz) return fmt::format("the whole of '{}'", s.path);
  return fmt::format("bytes [{}, {}) of '{}'", s.start, s.end, s.path);
}

// The position of one split in a decoded state.
struct Position {
  Split split;  // path, gz, start, end
  uint8_t status = kSplitPending;
  int64_t offset = 0;  // reading: the next unread line's offset
  int64_t line = 0;

  // End of the consumed prefix: lines starting in [split.start, ConsumedUntil()) were emitted,
  // those starting in [ConsumedUntil(), split.end) were not.
  int64_t ConsumedUntil() const {
    if (status == kSplitFinished) return split.end;
    if (status == kSplitReading) return std::min(offset, split.end);
    return split.start;
  }
};

// A source state as written by SnapshotState.
struct DecodedState {
  uint32_t subtask = 0;
  uint32_t parallelism = 0;
  int64_t max_event_time = api::kMinWatermark;
  std::vector<Position> positions;
};

inline absl::StatusOr<DecodedState> DecodeState(std::string_view state) {
  formats::StateReader r(state, "file source");
  RETURN_IF_ERROR(r.Header(kStateMagic, kStateVersion));
  DecodedState st;
  ASSIGN_OR_RETURN(st.subtask, r.U32());
  ASSIGN_OR_RETURN(st.parallelism, r.U32());
  ASSIGN_OR_RETURN(st.max_event_time, r.I64());
  ASSIGN_OR_RETURN(uint32_t n, r.U32());
  for (uint32_t k = 0; k < n; ++k) {
    Position pos;
    ASSIGN_OR_RETURN(pos.split.path, r.Str());
    ASSIGN_OR_RETURN(pos.split.start, r.I64());
    ASSIGN_OR_RETURN(pos.split.end, r.I64());
    ASSIGN_OR_RETURN(pos.status, r.U8());
    ASSIGN_OR_RETURN(pos.offset, r.I64());
    ASSIGN_OR_RETURN(pos.line, r.I64());
    pos.split.gz = pos.split.end == std::numeric_limits<int64_t>::max();
    if (pos.status > kSplitFinished || pos.split.start < 0 ||
        pos.split.start >= pos.split.end || (pos.split.gz && pos.split.start != 0) ||
        (pos.status == kSplitReading && pos.offset < pos.split.start)) {
      return DataLossF(
          "file source: restored state is inconsistent at '{}' (status {}, offset {}, split {})",
          pos.split.path, pos.status, pos.offset, DescribeRange(pos.split));
    }
    st.positions.push_back(std::move(pos));
  }
  RETURN_IF_ERROR(r.End());
  return st;
}

// The restored split for `pos` read on unchanged: same range, same status and position.
inline Split AdoptSplit(const Position& pos) {
  Split s = pos.split;
  if (pos.status == kSplitFinished) {
    s.finished = true;
  } else if (pos.status == kSplitReading) {
    s.resume_offset = pos.offset;
    s.next_line = pos.line;
  }
  return s;
}

// "[0, 10), [10, 30)" for an error message (at most 8 ranges).
inline std::string DescribeRanges(const std::vector<const Position*>& positions) {
  std::string out;
  for (size_t k = 0; k < positions.size() && k < 8; ++k) {
    if (k > 0) out += ", ";
    out += fmt::format("[{}, {})", positions[k]->split.start, positions[k]->split.end);
  }
  if (positions.size() > 8) out += fmt::format(", ... ({} ranges)", positions.size());
  return out.empty() ? std::string("nothing") : out;
}

// Whether `positions` (sorted by start) cover [start, end) exactly, without gaps or overlaps;
// otherwise sets *bad to the first one that does not fit (or null if the cover is just short).
inline bool Tiles(const std::vector<const Position*>& positions, int64_t start, int64_t end,
           const Position** bad) {
  int64_t at = start;
  *bad = nullptr;
  for (const Position* p : positions) {
    if (p->split.start != at || p->split.end > end) {
      *bad = p;
      return false;
    }
    at = p->split.end;
  }
  return at == end;
}

// Reader of one CSV source subtask. Lifecycle: Open (computes this subtask's splits), PollNext
// until false, Close. Runs on its Task's thread.

}  // namespace sluice::connectors
