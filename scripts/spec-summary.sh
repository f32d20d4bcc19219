#!/usr/bin/env bash
# Print the spec suite's figures from a ctest log: for each spec_core_*
# and spec_relaxed_simd_* test, its per-command-type summary and its total
# line.
#
# usage: spec-summary.sh BUILD_DIR
log="$1/Testing/Temporary/LastTest.log"
[ -f "$log" ] || exit 0
awk '
    /^[0-9]+\/[0-9]+ Testing: spec_(core|relaxed_simd)_/ { name = $3 }
    /^summary by command type:/ && name { print "spec suite (" name "):"; on = 1; next }
    on && /^[0-9]+ passed, [0-9]+ failed/ { print "  total: " $0; on = 0; name = ""; next }
    on { print }
' "$log"
