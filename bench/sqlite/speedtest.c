/* speedtest: SQLite on an in-memory database, after SQLite's own
 * speedtest1: bulk inserts through a prepared statement in one
 * transaction, an index built, range queries and aggregates over it, a
 * LIKE scan, GROUP BY and ORDER BY, a table built from a query, a join,
 * an UPDATE and a DELETE. Prints a hash of every result row, so that
 * every runtime must compute the same answers.
 *
 * Built against the amalgamation that bench/npm_fetch.sh takes from
 * npm's better-sqlite3 package (SQLITE_THREADSAFE=0, temporary storage in
 * memory, no extensions).
 *
 * usage: speedtest [rows] (default 200000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sqlite3.h"

static uint64_t hash = 1469598103934665603u;

static int row(void *unused, int n, char **values, char **names)
{
    (void)unused, (void)names;
    for (int i = 0; i < n; i++)
        for (const char *p = values[i] ? values[i] : "NULL"; *p; p++)
            hash = (hash ^ (unsigned char)*p) * 1099511628211u;
    return 0;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, row, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "speedtest: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int rows = argc > 1 ? atoi(argv[1]) : 200000;
    sqlite3 *db;
    sqlite3_stmt *ins;
    char sql[256];
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return 1;
    exec(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)");
    exec(db, "BEGIN");
    if (sqlite3_prepare_v2(db, "INSERT INTO t(b, c) VALUES(?1, ?2)", -1, &ins, NULL))
        return 1;
    uint32_t x = 1;
    for (int i = 0; i < rows; i++) {
        x = x * 1103515245u + 12345u;
        snprintf(sql, sizeof sql, "row %u text %d", x % 100000, i);
        sqlite3_bind_int(ins, 1, (int)(x % 100000));
        sqlite3_bind_text(ins, 2, sql, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE)
            return 1;
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec(db, "COMMIT");
    exec(db, "CREATE INDEX tb ON t(b)");
    for (int i = 0; i < 200; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*), avg(b) FROM t WHERE b BETWEEN %d AND %d",
                 i * 300, i * 300 + 1000);
        exec(db, sql);
    }
    exec(db, "SELECT count(*) FROM t WHERE c LIKE '%7%3%'");
    exec(db, "SELECT b % 100, count(*), sum(length(c)) FROM t GROUP BY 1 ORDER BY 2 DESC LIMIT 10");
    exec(db, "CREATE TABLE u AS SELECT b, c FROM t WHERE a % 3 = 0");
    exec(db, "SELECT count(*) FROM t JOIN u ON t.b = u.b");
    exec(db, "UPDATE t SET c = upper(c) WHERE b % 7 = 0");
    exec(db, "DELETE FROM t WHERE b % 5 = 1");
    exec(db, "SELECT c FROM t ORDER BY c LIMIT 5 OFFSET 1000");
    exec(db, "SELECT group_concat(b) FROM (SELECT b FROM t ORDER BY b DESC LIMIT 50)");
    printf("speedtest rows=%d hash=%016llx\n", rows, (unsigned long long)hash);
    sqlite3_close(db);
    return 0;
}
