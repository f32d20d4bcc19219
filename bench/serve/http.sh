#!/usr/bin/env bash
# bench/serve/http.sh - HTTP/1.1 requests per second and latency on
# loopback, measured with wrk, for several servers in the same run:
#
#   http.sh NAME=URL [NAME=URL...]
#
# The first target is the baseline (http_echo, the native server); every
# other one gets its ratio to it. For keep-alive on and off (-H
# "Connection: close": a new connection per request) and each concurrency
# (wrk -c C, one wrk thread per connection up to 2), the targets run one
# after another, in reverse order every other round (A B, then B A), so
# that a slow spell of this shared machine does not fall on one target
# only. Each cell is the median of the rounds; with two rounds or more,
# req/s is followed by its spread, ±(max - min) / 2 over the median.
#
# Every request is a POST with the body "ping" (http.lua). Before it is
# measured, a target must answer that request, sent with curl, with 200.
# Under load, wrk counts replies with a status over 399 ("Non-2xx or 3xx
# responses") and socket errors (connect, read, write, timeout): their sum
# over the rounds is the errors column.
#
# Environment: HTTP_SECS (seconds per wrk run, default 3; 1 with QUICK=1),
# HTTP_ROUNDS (default 2; 1 with QUICK=1), HTTP_LEVELS (default
# "1 4 16 64"), HTTP_MODES (default "keep-alive close").
#
# Writes one markdown table per keep-alive mode on stdout, and each wrk
# result on stderr. Exit status: 0, 1 a target does not answer 200, 2 usage.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if ((${QUICK:-0})); then
    secs=${HTTP_SECS:-1} rounds=${HTTP_ROUNDS:-1}
else
    secs=${HTTP_SECS:-3} rounds=${HTTP_ROUNDS:-2}
fi
levels=${HTTP_LEVELS:-1 4 16 64}
modes=${HTTP_MODES:-keep-alive close}

usage() {
    echo "usage: http.sh NAME=URL [NAME=URL...]   (the first is the baseline)" >&2
    exit 2
}
(($# > 0)) || usage
command -v wrk >/dev/null || { echo "http.sh: wrk is not installed" >&2; exit 2; }
names=() urls=()
for t in "$@"; do
    [[ $t == *=http://* ]] || usage
    names+=("${t%%=*}") urls+=("${t#*=}")
done

# check NAME URL: the request answered 200, or exit 1.
check() {
    local body code
    body=$(mktemp)
    code=$(curl -s -o "$body" -w '%{http_code}' --max-time 5 -X POST \
           -H 'Content-Type: text/plain' --data-binary ping "$2" || true)
    if [[ $code != 200 ]]; then
        echo "http.sh: $1 ($2) answered HTTP $code to a POST of \"ping\", not 200: $(head -c 200 "$body" | tr "\r\n" "  ")" >&2
        rm -f "$body"
        exit 1
    fi
    echo "$1 ($2) answers 200: $(head -c 80 "$body" | tr -d '\r\n')" >&2
    rm -f "$body"
}
for i in "${!names[@]}"; do check "${names[$i]}" "${urls[$i]}"; done

field() { sed -n "s/\(^\|.* \)$1=\([0-9.]*\).*/\2/p" <<<"$2"; }

# measure MODE C URL: one wrk run; prints its result line (empty if none).
measure() {
    local threads=$(($2 < 2 ? $2 : 2)) header=()
    [[ $1 == close ]] && header=(-H "Connection: close")
    wrk -t"$threads" -c"$2" -d"${secs}s" --timeout 5s -s "$here/http.lua" \
        "${header[@]}" "$3" 2>&1 | grep '^result ' || true
}

# Results: rps, p50, p99 as space-separated lists per "mode c target".
declare -A rps p50 p99 errors
for mode in $modes; do
    for c in $levels; do
        for round in $(seq 1 "$rounds"); do
            order=("${!names[@]}")
            if ((round % 2 == 0)); then
                order=()
                for ((i = ${#names[@]} - 1; i >= 0; i--)); do order+=("$i"); done
            fi
            for i in "${order[@]}"; do
                key="$mode $c $i"
                line=$(measure "$mode" "$c" "${urls[$i]}")
                echo "$mode c=$c round $round ${names[$i]}: ${line:-wrk gave no result}" >&2
                if [[ -z $line ]]; then
                    errors[$key]=failed
                    continue
                fi
                rps[$key]+=" $(field rps "$line")"
                p50[$key]+=" $(field p50_us "$line")"
                p99[$key]+=" $(field p99_us "$line")"
                e=0
                for k in connect read write timeout status; do e=$((e + $(field $k "$line"))); done
                [[ ${errors[$key]:-} == failed ]] || errors[$key]=$((${errors[$key]:-0} + e))
            done
        done
    done
done

# median "V V ...": the median, "-" for none.
median() {
    tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
              else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# spread "V V ...": " ±N%", half the range over the median, for 2 or more.
spread() {
    tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR < 2) exit; m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
              if (m > 0) printf " ±%.0f%%", 50 * (v[NR] - v[1]) / m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

for mode in $modes; do
    echo
    if [[ $mode == close ]]; then
        echo "Keep-alive off (\`Connection: close\`: a new connection per request):"
    else
        echo "Keep-alive on:"
    fi
    echo
    head="| concurrency " rule="|---:"
    for i in "${!names[@]}"; do
        head+="| ${names[$i]} req/s | p50 us | p99 us | errors "
        rule+="|---:|---:|---:|---:"
        ((i == 0)) || { head+="| ${names[$i]} / ${names[0]} "; rule+="|---:"; }
    done
    echo "$head|"
    echo "$rule|"
    for c in $levels; do
        row="| $c "
        base=$(median "${rps[$mode $c 0]:-}")
        for i in "${!names[@]}"; do
            key="$mode $c $i"
            r=$(median "${rps[$key]:-}")
            row+="| $r$(spread "${rps[$key]:-}") | $(median "${p50[$key]:-}") | $(median "${p99[$key]:-}") | ${errors[$key]:-failed} "
            ((i == 0)) || row+="| $(ratio "$r" "$base") "
        done
        echo "$row|"
    done
done
