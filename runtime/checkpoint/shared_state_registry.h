#pragma once
// SharedStateRegistry: reference counting of the shared files of incremental checkpoints
// (Flink's SharedStateRegistry), kept by the JobMaster of a job.
//
// An incremental checkpoint references SST files in <job-id>/shared/, most of them uploaded
// by earlier checkpoints. A file may be deleted once no retained checkpoint references it.
// The JobMaster calls:
//   Missing(files)           before publishing a checkpoint: reused files that are already
//                            gone (the checkpoint must fail instead of becoming unrestorable),
//   Register(id, files)      when checkpoint `id` completes,
//   Release(id)              when checkpoint `id` is discarded (subsumed beyond `retained`),
//   CollectGarbage()         after each Register: files to delete now,
//   TakeAll()                when the job ends: every unreferenced file.
//
// Deletion is deferred by one completed checkpoint: a file that became unreferenced when
// checkpoint n was subsumed is deleted only after the next checkpoint completes (or the job
// ends). A task that had not yet heard of n+1's completion may have reused that file in the
// checkpoint it was taking; that checkpoint's Register revives the file. If a checkpoint reuses
// a file that was deleted anyway (possible with concurrent checkpoints), Missing() reports it
// and that checkpoint fails cleanly; the task moves its base on with the next completion.
//
// Files are identified by path (normalised by the caller). Only files under this job's shared
// directory should be registered: files of a checkpoint restored from another job are never
// deleted (Flink's NO_CLAIM mode; the first checkpoint after such a restore is a full one).
//
// Thread safety: none; the JobMaster's executor only.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sluice::checkpoint {

class SharedStateRegistry {
 public:
  // Of `files`, those that are neither referenced nor waiting for deletion.
  std::vector<std::string> Missing(const std::vector<std::string>& files) const;
  // Checkpoint `id` references `files` (duplicates are counted once).
  void Register(int64_t id, const std::vector<std::string>& files);
  // Checkpoint `id` no longer exists; its files without other references wait for deletion.
  void Release(int64_t id);
  // Files unreferenced since before the latest Register: to delete now (removed from here).
  std::vector<std::string> CollectGarbage();
  // Every unreferenced file (the job ended).
  std::vector<std::string> TakeAll();

  size_t num_referenced() const { return refs_.size(); }
  size_t num_waiting() const { return waiting_.size(); }

 private:
  std::map<std::string, std::set<int64_t>> refs_;  // file -> checkpoints referencing it
  std::map<int64_t, std::vector<std::string>> by_checkpoint_;
  std::map<std::string, int64_t> waiting_;  // unreferenced file -> registration round
  int64_t round_ = 0;                       // number of Register calls
};

}  // namespace sluice::checkpoint
