-- Home reads for the overload scenario (tests/chaos/test_overload.py), wrk 4.x:
--   wrk -t T -c C -d D -s overload.lua URL -- <file of access tokens> <requests a second per thread>
-- Each thread sends its requests on a fixed schedule (open loop: a slow answer does not slow
-- the load down, as long as the C connections are enough to have one free at each slot).
-- Counts answers by status; a refusal without Retry-After is counted apart
-- ("503-no-retry-after").

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } koo_timespec;
int clock_gettime(int clock, koo_timespec *now);
]]
local clock = ffi.new("koo_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}
counts = {}
local requests = {}
local interval = 0
local next_slot = 0
local turn = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  -- Built once: formatting a request each time cost the load generator CPU the platform
  -- shares on one machine.
  for line in io.lines(args[1]) do
    if #line > 0 then
      table.insert(requests, wrk.format("GET", "/v1/feed/home?page_size=20", { ["Authorization"] = "Bearer " .. line }))
    end
  end
  interval = 1000 / tonumber(args[2])
  next_slot = now_ms()
  turn = math.random(#requests)
end

-- The wait before a connection's next request: until the thread's next free slot. Behind
-- schedule (every connection was busy), it sends at once, catching up at most 1 s.
function delay()
  local now = now_ms()
  if next_slot < now - 1000 then next_slot = now - 1000 end
  local slot = next_slot
  next_slot = next_slot + interval
  if slot <= now then return 0 end
  return math.floor(slot - now)
end

function request()
  turn = turn % #requests + 1
  return requests[turn]
end

function response(status, headers, body)
  local key = tostring(status)
  if status >= 400 and headers["Retry-After"] == nil and headers["retry-after"] == nil then
    key = key .. "-no-retry-after"
  end
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do
      total[key] = (total[key] or 0) + n
    end
  end
  local parts = {}
  for key, n in pairs(total) do
    table.insert(parts, string.format('"%s": %d', key, n))
  end
  io.write("KOO-COUNTS {" .. table.concat(parts, ", ") .. "}\n")
  io.write(string.format('KOO-ERRORS {"connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
