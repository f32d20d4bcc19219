#!/usr/bin/env bash
# Run the official WebAssembly spec suite (core/*.wast) through `awsm wast`.
#
# usage: run-core.sh PATH/TO/awsm [OPTIONS...]
#
# OPTIONS are passed to `awsm wast` before the file list. The suite is
# taken from $AWSM_SPECTEST, else from ../shared/spectest beside the
# repository. SPEC_DIR picks another directory of it than core
# (proposals/relaxed-simd); SPEC_SKIP lists file names left out, each
# named on the output. Without a suite the test is skipped with exit status 77 (the
# code ctest's SKIP_RETURN_CODE expects) and a banner that says so.
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 PATH/TO/awsm [OPTIONS...]" >&2
    exit 2
fi
awsm=$1
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

suite=""
if [ -n "${AWSM_SPECTEST:-}" ]; then
    if [ -d "$AWSM_SPECTEST/core" ]; then
        suite=$AWSM_SPECTEST
    else
        echo "run-core.sh: AWSM_SPECTEST=$AWSM_SPECTEST has no core/ directory" >&2
    fi
fi
if [ -z "$suite" ] && [ -d "$root/../shared/spectest/core" ]; then
    suite=$(cd "$root/../shared/spectest" && pwd)
fi

if [ -z "$suite" ]; then
    cat >&2 <<BANNER
************************************************************************
*** SPEC SUITE NOT FOUND
***   looked in \$AWSM_SPECTEST (${AWSM_SPECTEST:-unset})
***   and in $root/../shared/spectest
*** set AWSM_SPECTEST to a copy of github.com/WebAssembly/spec's test/
*** directory (the one holding core/); spec tests SKIPPED
************************************************************************
BANNER
    exit 77
fi

if [ ! -x "$awsm" ]; then
    echo "run-core.sh: $awsm is not an executable (build awsm first)" >&2
    exit 1
fi

dir=${SPEC_DIR:-core}
shopt -s nullglob
files=()
for f in "$suite/$dir"/*.wast; do
    case " ${SPEC_SKIP:-} " in
    *" $(basename "$f") "*) echo "run-core.sh: $(basename "$f") left out (SPEC_SKIP)" ;;
    *) files+=("$f") ;;
    esac
done
if [ ${#files[@]} -eq 0 ]; then
    echo "run-core.sh: no .wast files in $suite/$dir" >&2
    exit 1
fi

echo "run-core.sh: ${#files[@]} files from $suite/$dir"
exec "$awsm" wast "$@" "${files[@]}"
