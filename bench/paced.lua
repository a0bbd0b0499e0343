-- wrk script: a fixed request rate instead of wrk's flat-out loop, and the
-- latency percentiles as one JSON line at the end.
--   wrk -t1 -c4 -d15s -s bench/paced.lua URL -- RATE
-- All connections of the thread share one schedule: each request takes the
-- next 1/RATE slot, so a slow answer on one connection does not hold back
-- the others (up to the number of connections).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local period = 20
local next_at = nil

function init(args)
  period = 1000 / tonumber(args[1] or "50")
end

function delay()
  local t = now_ms()
  if next_at == nil or next_at < t then next_at = t end
  local wait = next_at - t
  next_at = next_at + period
  return wait
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
