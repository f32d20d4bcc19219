# tests/e2e/lib.sh - what the awsmrt end-to-end scripts share, sourced
# after BIN, NAME, HERE and ROOT are set (and tests/cli/lib.sh, which gives
# check, $tmp and cli_summary). The script defines write_config (writes
# $tmp/modules.json using `port N`) before it calls start_server.

for t in awsmrt udpclient loadgen; do
    [ -x "$BIN/$t" ] || { echo "$NAME: $BIN/$t not built" >&2; exit 1; }
done
if ! echo 'int main(void){return 0;}' |
        clang --target=wasm32-wasi -O2 -x c - -o "$tmp/probe.wasm" 2>/dev/null; then
    echo "$NAME: clang cannot build wasm32-wasi (wasi-libc); SKIPPED" >&2
    exit 77
fi
export AWSM_CACHE_DIR=$tmp/cache
status=0

# build_apps NAME...: tests/e2e/apps/NAME.c (or .wat) -> $tmp/NAME.wasm
build_apps() {
    for app in "$@"; do
        if [ -f "$HERE/apps/$app.wat" ]; then
            wat2wasm "$HERE/apps/$app.wat" -o "$tmp/$app.wasm" || exit 1
        else
            local src=$HERE/apps/$app.c
            [ -f "$src" ] || src=$ROOT/examples/$app.c
            clang --target=wasm32-wasi -O2 "$src" -o "$tmp/$app.wasm" || exit 1
        fi
    done
}

# A base port whose next 20 ports are free: bash's /dev/udp cannot tell,
# so try binding with awsmrt itself (start-up fails cleanly when taken).
base=$((20000 + RANDOM % 20000))
port() { echo $((base + $1)); }

pid=
stop_server() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# start_server [awsmrt options]: start on free ports, wait until serving
# (until $SERVER_LOG, default $tmp/server.log, says so). Every server has
# its admin port on $(port 19), for wait_inflight.
start_server() {
    for attempt in 1 2 3 4 5; do
        write_config
        [ -f "$tmp/server.log" ] && cat "$tmp/server.log" >>"$tmp/servers.log"
        # Emptied here, not by the redirection below: that happens in the
        # child, and the wait for "serving" could first see the previous
        # server's log (a request then went out before the ports were bound).
        : >"$tmp/server.log"
        "$BIN/awsmrt" --admin-port "$(port 19)" "$@" "$tmp/modules.json" \
            2>"$tmp/server.log" &
        pid=$!
        for _ in $(seq 1 600); do
            grep -q "serving" "${SERVER_LOG:-$tmp/server.log}" 2>/dev/null && return 0
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
        grep -q "cannot bind" "$tmp/server.log" || break
        base=$((20000 + RANDOM % 20000))
    done
    echo "$NAME: awsmrt did not start:" >&2
    cat "$tmp/server.log" >&2
    exit 1
}

# wait_inflight N: until the server has at least N requests queued or
# running (its awsm_inflight metric), at most 10 s: requests sent in the
# background have arrived, however loaded the machine is.
wait_inflight() {
    local n
    for _ in $(seq 1 200); do
        n=$(curl -s --max-time 2 "http://127.0.0.1:$(port 19)/metrics" |
            sed -n 's/^awsm_inflight \([0-9]*\)$/\1/p')
        [ "${n:-0}" -ge "$1" ] && return 0
        sleep 0.05
    done
    echo "$NAME: wait_inflight $1: the server has ${n:-?}" >&2
    return 1
}

# ask PORT JSON [TIMEOUT_MS]: one request; the reply JSON in $reply.
ask() {
    printf '127.0.0.1:%s$%s\n' "$1" "$2" |
        "$BIN/udpclient" --yes --timeout "${3:-10000}" - >"$tmp/out" 2>"$tmp/err"
    status=$?
    reply=$(sed -n 's/^.*<- [0-9.]* ms //p' "$tmp/out")
}
has() { case $reply in *"$1"*) return 0;; esac; return 1; }

# no_crash_reports: the servers' logs hold no sanitizer or crash report.
no_crash_reports() {
    [ -f "$tmp/server.log" ] && cat "$tmp/server.log" >>"$tmp/servers.log"
    : >"$tmp/server.log"
    cp "$tmp/servers.log" "$tmp/err"
    : >"$tmp/out"
    check "no sanitizer or crash reports in the servers' logs" \
        eval '! grep -qE "Sanitizer|runtime error|Segmentation|Aborted" "$tmp/servers.log"'
}
