#include "store/results.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "core/error.h"

namespace fs = std::filesystem;
using namespace ziq::store;

namespace {
std::string temp_db(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("ziq_test_results_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / name;
  fs::remove(p);
  fs::remove(p.string() + "-wal");
  fs::remove(p.string() + "-shm");
  return p.string();
}

RunRecord sample_run(const std::string& model) {
  RunRecord r;
  r.run_key = "key-" + model;
  r.model_name = model;
  r.model_path = "/models/" + model;
  r.model_fingerprint = "fp";
  r.model_architecture = "LlamaForCausalLM";
  r.model_dtype = "bf16";
  r.corpus_name = "sample";
  r.corpus_fingerprint = "cfp";
  r.protocol = "paper";
  r.context = 1900;
  r.stride = 512;
  r.tokenizer_kind = "tokenizer.json";
  r.backend = "cpu";
  r.started_at = "2026-11-30T01:00:00Z";
  SubsetFigures cc;
  cc.subset = "cc";
  cc.bpc = 0.625;
  cc.characters = 1000;
  cc.nats = 433.2;
  cc.windows = 3;
  SubsetFigures all = cc;
  all.subset = kOverallSubset;
  all.note = "pooled";
  r.subsets = {cc, all};
  return r;
}
}  // namespace

TEST(ResultsStore, CreatesSchemaAndRoundTripsARun) {
  std::string path = temp_db("roundtrip.sqlite");
  {
    ResultsStore store(path);
    EXPECT_EQ(store.schema_version(), ResultsStore::kSchemaVersion);
    int64_t id = store.insert_finished_run(sample_run("m1"));
    EXPECT_GT(id, 0);
  }
  ResultsStore store(path);  // reopening migrates nothing and keeps the data
  auto runs = store.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  const auto& r = runs[0];
  EXPECT_EQ(r.model_name, "m1");
  EXPECT_EQ(r.context, 1900);
  EXPECT_EQ(r.status, RunStatus::finished);
  EXPECT_FALSE(r.finished_at.empty());
  ASSERT_EQ(r.subsets.size(), 2u);
  EXPECT_DOUBLE_EQ(*r.find_subset("cc")->bpc, 0.625);
  EXPECT_EQ(*r.find_subset("cc")->characters, 1000);
  EXPECT_FALSE(r.find_subset("cc")->bytes.has_value());
  EXPECT_EQ(r.find_subset(kOverallSubset)->note, "pooled");
}

TEST(ResultsStore, FailedInsertLeavesNothing) {
  std::string path = temp_db("atomic.sqlite");
  ResultsStore store(path);
  RunRecord r = sample_run("m1");
  r.subsets.push_back(r.subsets[0]);  // same subset twice violates the primary key
  EXPECT_THROW(store.insert_finished_run(r), ziq::Error);
  EXPECT_TRUE(store.list_runs().empty());
}

TEST(ResultsStore, FiltersAndReplacesImports) {
  ResultsStore store(temp_db("filter.sqlite"));
  store.insert_finished_run(sample_run("Llama-2-7b"));
  RunRecord imp = sample_run("Qwen-7b");
  imp.status = RunStatus::imported;
  imp.protocol = "";
  store.replace_runs_from_source("imported:x.csv", {imp, sample_run("Qwen-14b")});
  EXPECT_EQ(store.list_runs().size(), 3u);
  EXPECT_EQ(store.replace_runs_from_source("imported:x.csv", {imp}), 2);
  EXPECT_EQ(store.list_runs().size(), 2u);
  RunFilter by_model, by_protocol, by_source, by_status;
  by_model.model = "qwen";
  by_protocol.protocol = "paper";
  by_source.source = "imported";
  by_status.status = RunStatus::imported;
  EXPECT_EQ(store.list_runs(by_model).size(), 1u);
  EXPECT_EQ(store.list_runs(by_protocol).size(), 1u);
  EXPECT_EQ(store.list_runs(by_source)[0].source, "imported:x.csv");
  EXPECT_EQ(store.list_runs(by_status).size(), 1u);
}

TEST(ResultsStore, RunningThenFinished) {
  ResultsStore store(temp_db("running.sqlite"));
  RunRecord r = sample_run("m");
  auto subsets = r.subsets;
  r.subsets.clear();
  int64_t id = store.insert_running_run(r);
  EXPECT_EQ(store.list_runs()[0].status, RunStatus::running);
  store.finish_run(id, subsets);
  auto runs = store.list_runs();
  EXPECT_EQ(runs[0].status, RunStatus::finished);
  EXPECT_EQ(runs[0].subsets.size(), 2u);
  EXPECT_THROW(store.finish_run(id, subsets), ziq::Error);  // already finished
}

TEST(ResultsStore, RefusesNewerSchema) {
  std::string path = temp_db("newer.sqlite");
  {
    ResultsStore store(path);
    store.database().exec("PRAGMA user_version = 99");
  }
  EXPECT_THROW(ResultsStore{path}, ziq::Error);
}

TEST(ResultsStore, DefaultPathFollowsEnvironment) {
  const char* home = std::getenv("HOME");
  std::string saved_home = home ? home : "";
  ::setenv("ZIQ_DB", "/tmp/x.sqlite", 1);
  EXPECT_EQ(default_results_path(), "/tmp/x.sqlite");
  ::unsetenv("ZIQ_DB");
  ::setenv("XDG_DATA_HOME", "/data", 1);
  EXPECT_EQ(default_results_path(), "/data/ziq/results.sqlite");
  ::unsetenv("XDG_DATA_HOME");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_results_path(), "/home/u/.local/share/ziq/results.sqlite");
  ::setenv("HOME", saved_home.c_str(), 1);
}

TEST(ResultsStore, TimestampIsIso8601Utc) {
  std::string t = utc_now_iso8601();
  ASSERT_EQ(t.size(), 20u);
  EXPECT_EQ(t[4], '-');
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t.back(), 'Z');
}

TEST(ResultsStore, ReadOnlyOpenListsAndRefusesWrites) {
  std::string path = temp_db("readonly.sqlite");
  {
    ResultsStore store(path);
    store.insert_finished_run(sample_run("m1"));
  }
  ResultsStore ro(path, /*read_only=*/true);
  auto runs = ro.list_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].model_name, "m1");
  try {
    ro.insert_finished_run(sample_run("m2"));
    FAIL() << "a read-only store took a write";
  } catch (const ziq::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  // Read-only never creates a file.
  EXPECT_THROW(ResultsStore(temp_db("absent.sqlite"), true), ziq::Error);
  EXPECT_FALSE(fs::exists(temp_db("absent.sqlite")));
}

TEST(ResultsStore, LockedDatabaseSaysSo) {
  std::string path = temp_db("locked.sqlite");
  ResultsStore store(path);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(store.database().handle(), 50);  // not the 10 s a real run waits
  try {
    store.insert_finished_run(sample_run("m1"));
    FAIL() << "wrote through an exclusive lock";
  } catch (const ziq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("locked by another process"), std::string::npos) << e.what();
  }
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
}
