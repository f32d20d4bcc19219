#!/usr/bin/env bash
# bench/sqlite/fetch.sh DIR - put SQLite's amalgamation (sqlite3.c,
# sqlite3.h) in DIR, from npm's better-sqlite3 package, which ships it
# under deps/sqlite3. Pinned: the version below, and the SHA-256 of both
# files, so every run benchmarks the same SQLite. Does nothing when DIR
# already holds the right files; needs npm and the registry otherwise.
set -euo pipefail
dir=${1:?usage: fetch.sh DIR}
package=better-sqlite3@12.11.1          # SQLite 3.53.2
sums="60d2f39a3726cd6b9021da6f4e868608d66fbb6528a9f513dc8ffcc640493422  sqlite3.c
9e69a1353a4288450b0d5239ede11fc7f1f4c8e5eb07491fc8317eacb5b7de7e  sqlite3.h"

mkdir -p "$dir"
cd "$dir"
if ! sha256sum --status -c <<< "$sums" 2>/dev/null; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "$package" > /dev/null) || {
        echo "fetch.sh: npm pack $package failed (no network to the npm registry?)" >&2
        exit 1
    }
    tar -xzf "$work"/better-sqlite3-*.tgz -C "$work" package/deps/sqlite3/sqlite3.c \
        package/deps/sqlite3/sqlite3.h
    cp "$work/package/deps/sqlite3/sqlite3.c" "$work/package/deps/sqlite3/sqlite3.h" .
    sha256sum --status -c <<< "$sums" || {
        echo "fetch.sh: $package's sqlite3.c or sqlite3.h is not the one pinned here" >&2
        exit 1
    }
fi
