-- Home reads for the overload scenario (tests/chaos/test_overload.py), wrk 4.x:
--   wrk -t T -c C -d D -s overload.lua URL -- <file of access tokens> <gap between requests, ms>
-- Each connection reads a home feed, waits <gap> ms, reads again (so C connections offer
-- about C * 1000 / gap requests a second while answers are quick). Counts answers by status;
-- a refusal without Retry-After is counted apart ("503-no-retry-after").

local threads = {}
counts = {}
local tokens = {}
local gap = 0
local turn = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(tokens, line) end
  end
  gap = tonumber(args[2])
  turn = math.random(#tokens)
end

function delay()
  return gap
end

function request()
  turn = turn % #tokens + 1
  return wrk.format("GET", "/v1/feed/home?page_size=20", { ["Authorization"] = "Bearer " .. tokens[turn] })
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
