-- wrk script for `make bench` (bench/wrk.ts): each request takes the next path from a file, one
-- per line, and comes from an address of its own (X-Forwarded-For, which the API trusts from
-- loopback), so per-client rate limits see many users. `done` prints one JSON line of results.
-- Run with one thread (-t1): one thread drives far more than the API serves, and the paths are
-- then asked for in order, as autocannon did.
local paths = {}
local n = 0
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    paths[n] = line
  end
  -- Where the previous run of the same list stopped, so a list of cold reads stays cold.
  i = tonumber(args[2] or "0") % n
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return wrk.format("GET", paths[i], { ["X-Forwarded-For"] = string.format("10.66.%d.%d", math.floor(i / 256) % 256, i % 256) })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
