#!/usr/bin/env bash
# bench/npm_fetch.sh PACKAGE@VERSION SHA256 DIR FILE... - put FILEs (paths
# inside the package, e.g. deps/sqlite3/sqlite3.c) of an npm package into
# DIR, from its tarball pinned by SHA-256 (`npm pack`), so every run
# benchmarks the same sources. Does nothing when DIR already holds them
# from that tarball; needs npm and the registry otherwise.
set -euo pipefail
package=${1:?usage: npm_fetch.sh PACKAGE@VERSION SHA256 DIR FILE...}
sum=${2:?usage} dir=${3:?usage}
shift 3

[[ -f $dir/.fetched-$sum ]] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" > /dev/null) || {
    echo "npm_fetch.sh: npm pack $package failed (no network to the npm registry?)" >&2
    exit 1
}
tarball=$(ls "$work"/*.tgz)
echo "$sum  $tarball" | sha256sum --status -c || {
    echo "npm_fetch.sh: $package is not the tarball pinned here" >&2
    exit 1
}
tar -xzf "$tarball" -C "$work"
mkdir -p "$dir"
for f in "$@"; do
    cp "$work"/package/$f "$dir"
done
touch "$dir/.fetched-$sum"
