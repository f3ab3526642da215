// The content-addressed blob store: keys are SHA-256, writes are verified and atomic, corrupt
// blobs are detected, and blobs outlive the store object (a restart).

#include "runtime/plugin/blob_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::plugin {
namespace {

using ::testing::HasSubstr;

std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/blobs-" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(BlobStore, Sha256MatchesTheStandardTestVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(IsBlobKey(Sha256Hex("")));
  EXPECT_FALSE(IsBlobKey("ABC"));
}

TEST(BlobStore, StoresChunksUnderTheirHashAndSurvivesARestart) {
  const std::string dir = FreshDir("restart");
  const std::string data = std::string(100000, 'x') + "end";
  const std::string key = Sha256Hex(data);
  {
    auto store = BlobStore::Open(dir);
    ASSERT_TRUE(store.ok());
    auto w = (*store)->Write(key);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(std::string_view(data).substr(0, 5000)).ok());
    ASSERT_TRUE((*w)->Append(std::string_view(data).substr(5000)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto reopened = BlobStore::Open(dir);
  ASSERT_TRUE(reopened.ok());
  auto path = (*reopened)->PathOf(key);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(Slurp(*path), data);
  // Only the blob is left: no temporary files.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(BlobStore, RefusesBytesThatDoNotMatchTheKeyAndLeavesNothing) {
  const std::string dir = FreshDir("mismatch");
  auto store = *BlobStore::Open(dir);
  auto w = *store->Write(Sha256Hex("expected"));
  ASSERT_TRUE(w->Append("something else").ok());
  EXPECT_THAT(w->Commit().status().message(), HasSubstr("checksum mismatch"));
  w.reset();
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  EXPECT_EQ(store->PathOf(Sha256Hex("expected")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(store->Write("../etc/passwd").status().message(), HasSubstr("malformed blob key"));
}

TEST(BlobStore, DetectsAndDeletesACorruptBlob) {
  const std::string dir = FreshDir("corrupt");
  auto store = *BlobStore::Open(dir);
  const std::string src = dir + "-src";
  std::ofstream(src) << "plugin bytes";
  auto key = store->PutFile(src);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, Sha256Hex("plugin bytes"));
  std::ofstream(dir + "/" + *key) << "tampered";
  EXPECT_THAT(store->PathOf(*key).status().message(), HasSubstr("corrupt"));
  EXPECT_FALSE(store->Contains(*key));
}

}  // namespace
}  // namespace sluice::plugin
