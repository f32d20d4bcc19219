-- bench/serve/http.lua - the wrk script of bench/serve/http.sh: every
-- request is a POST with the body "ping" (awsmrt hands a request's body
-- to the guest as its stdin), and at the end one line of key=value counts
-- with the latency percentiles in microseconds.
wrk.method = "POST"
wrk.body = "ping"
wrk.headers["Content-Type"] = "text/plain"

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format("result requests=%d seconds=%.3f rps=%.0f p50_us=%.0f p99_us=%.0f"
                           .. " connect=%d read=%d write=%d timeout=%d status=%d\n",
                           summary.requests, secs, summary.requests / secs,
                           latency:percentile(50), latency:percentile(99),
                           e.connect, e.read, e.write, e.timeout, e.status))
end
