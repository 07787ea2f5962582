/*
 * kh_db.h — SQLite helpers: open a database durable enough for persist-before-ack
 * (WAL, synchronous=NORMAL, busy timeout) and bring its schema up to date with an
 * ordered list of migrations tracked in PRAGMA user_version.
 *
 * Migrations are append-only: step i takes the schema from version i to i+1 and is
 * never edited once released.  All pending steps run in one transaction.
 */
#ifndef KH_DB_H
#define KH_DB_H

#include <sqlite3.h>
#include <stddef.h>

/* Opens (creating) `path`, applies migrations[0..n).  Returns 0, or -1 with the
 * reason in err (the handle is then closed and *db is NULL).
 * A database holds the districts' reports: a new file is created mode 0640 whatever
 * the umask (SQLite gives its -wal and -shm files the same mode), and an existing one
 * (or its -wal, -shm) that others may read, or its group write, is narrowed to 0640 or
 * stricter (a warning is logged when that is not allowed). */
int kh_db_open(sqlite3 **db, const char *path, const char *const *migrations, size_t n,
               char *err, size_t errlen);
void kh_db_close(sqlite3 **db);

/* Executes SQL without results.  Returns 0 or -1 (logged with `what`). */
int kh_db_exec(sqlite3 *db, const char *sql, const char *what);

/* Prepares a statement.  Returns NULL after logging when the SQL is wrong. */
sqlite3_stmt *kh_db_prepare(sqlite3 *db, const char *sql);

/* PRAGMA integrity_check == "ok": returns 0, else -1. */
int kh_db_integrity(sqlite3 *db);

#endif
