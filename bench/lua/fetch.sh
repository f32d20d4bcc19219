#!/usr/bin/env bash
# bench/lua/fetch.sh DIR - put Lua 5.3.5's sources (src/*.c, *.h) in DIR,
# from npm's lua-src package, pinned by version and by the SHA-256 of its
# tarball. Does nothing when DIR already holds them; needs npm and the
# registry otherwise.
set -euo pipefail
dir=${1:?usage: fetch.sh DIR}
package=lua-src@5.3.5
sum=0190b7ed390f92b1c88a65332098ae62a701fa6797189d35e416275acbc6528b

[[ -f $dir/.fetched-$sum ]] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" > /dev/null) || {
    echo "fetch.sh: npm pack $package failed (no network to the npm registry?)" >&2
    exit 1
}
echo "$sum  $(ls "$work"/lua-src-*.tgz)" | sha256sum --status -c || {
    echo "fetch.sh: $package is not the tarball pinned here" >&2
    exit 1
}
mkdir -p "$dir"
tar -xzf "$work"/lua-src-*.tgz -C "$work"
cp "$work"/package/src/*.c "$work"/package/src/*.h "$dir"
touch "$dir/.fetched-$sum"
