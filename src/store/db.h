// A thin RAII layer over SQLite: open (WAL, busy timeout), exec, prepared statements. Every
// SQLite failure becomes a ziq::Error naming the database file.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ziq::store {

class Statement;

class Database {
 public:
  // Creates the file (and its folder) if missing. read_only: opens an existing file for reading only,
  // so a store on read-only media, or one without write permission, can still be listed.
  explicit Database(const std::string& path, bool read_only = false);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  Statement prepare(const std::string& sql);
  int64_t last_insert_rowid() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }
  bool read_only() const { return read_only_; }

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on exception), so results are never
  // half-written.
  template <typename Fn>
  void transaction(Fn&& fn) {
    exec("BEGIN IMMEDIATE");
    try {
      fn();
    } catch (...) {
      exec("ROLLBACK");
      throw;
    }
    exec("COMMIT");
  }

  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  bool read_only_ = false;
};

class Statement {
 public:
  Statement(Database& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Statement(const Statement&) = delete;

  // Bind by 1-based index.
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, std::string_view v);
  Statement& bind_null(int i);
  Statement& bind(int i, const std::optional<double>& v) { return v ? bind(i, *v) : bind_null(i); }

  bool step();   // true while a row is available
  void reset();  // for re-use with new bindings

  int64_t column_int(int i) const;
  double column_double(int i) const;
  std::string column_text(int i) const;
  bool column_is_null(int i) const;
  int column_count() const;

 private:
  Database* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace ziq::store
