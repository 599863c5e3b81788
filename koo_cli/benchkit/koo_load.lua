-- Open-loop load for wrk 4.x (LuaJIT): Poisson arrivals, Koo's read/compose mix.
--
-- Run as `wrk -t N -c N -s koo_load.lua URL -- <data prefix> <rate> <p_home> <p_user> <p_compose>
--         <page_size> <max_depth> <warmup_s> <koo|baseline> <N>`: one connection per thread, so each hook call
-- knows which request it belongs to. Each connection draws its own Poisson arrival schedule
-- (exponential gaps, mean N/rate): delay() sleeps until the next scheduled arrival, or not at all
-- when the connection is behind; the request then counts its lateness. Latency is kept two ways:
--   service  = response done - request sent        (what wrk itself records)
--   response = response done - scheduled arrival   (adds time queued behind this connection's
--                                                    previous request: the coordinated-omission fix)
-- Reads pick a uniform random user and page depth 0..max_depth; deeper pages are reached by
-- following next_page_token from earlier pages (tokens cached per thread, per user and depth).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } koo_timespec;
int clock_gettime(int clk_id, koo_timespec *tp);
]]
local timespec = ffi.new("koo_timespec")
local function now_us()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local OPS = { "home", "user", "compose", "baseline" }
local BUCKETS_PER_E = 50 -- histogram buckets: 2% wide

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

-- Per-thread state ------------------------------------------------------------------------
local users = {}      -- { id, auth header }
local bodies = {}     -- compose bodies (JSON)
local mean_gap_us, p_home, p_user, page_size, max_depth, warmup_until, path_kind
local next_at = nil   -- scheduled time of the next arrival
local scheduled = 0   -- scheduled time of the request in flight
local pending = nil   -- the request in flight: { op, key, depth, sent, intended }
local tokens = {}     -- "h:<user>:<depth>" -> page token of that page

-- Exported to done() (flat tables only: wrk copies nested tables badly).
counts = {}           -- "<op>:<status>" -> n, "late" -> n, "lag_sum_us" -> n
svc = {}              -- op * 10000 + bucket -> n  (service time)
resp = {}             -- op * 10000 + bucket -> n  (response time from the scheduled arrival)
errsample = ""

local function lines(path)
  local out = {}
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if #line > 0 then table.insert(out, line) end
  end
  f:close()
  return out
end

function init(args)
  local prefix = args[1]
  local rate = tonumber(args[2])
  p_home = tonumber(args[3])
  p_user = tonumber(args[4])
  page_size = tonumber(args[6])
  max_depth = tonumber(args[7])
  path_kind = args[9] or "koo"
  local tid = tonumber(wrk.thread:get("tid"))
  math.randomseed(tid * 7919 + math.floor(now_us() % 1000003))
  for _, line in ipairs(lines(prefix .. ".users")) do
    local id, token = line:match("^(%S+)%s+(%S+)")
    table.insert(users, { id = id, auth = "Bearer " .. token })
  end
  if p_home + p_user < 1 then bodies = lines(prefix .. ".bodies") end
  mean_gap_us = (tonumber(args[10]) / rate) * 1000000 -- each connection: rate / connections
  warmup_until = now_us() + tonumber(args[8]) * 1000000
end

local function bucket(us)
  if us < 1 then us = 1 end
  return math.floor(math.log(us) * BUCKETS_PER_E)
end

local function exp_gap()
  return -math.log(1 - math.random()) * mean_gap_us
end

function delay()
  local now = now_us()
  if next_at == nil then next_at = now end
  next_at = next_at + exp_gap()
  scheduled = next_at
  local ms = (next_at - now) / 1000
  if ms < 1 then return 0 end
  return math.floor(ms + 0.5)
end

local function escape(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local now = now_us()
  local u = users[math.random(#users)]
  local r = math.random()
  local op
  if r < p_home then op = 1 elseif r < p_home + p_user then op = 2 else op = 3 end
  if path_kind == "baseline" then op = 4 end
  local headers = { ["Authorization"] = u.auth }
  local req
  if op == 3 then
    headers["Content-Type"] = "application/json"
    req = wrk.format("POST", "/v1/posts", headers, bodies[math.random(#bodies)])
    pending = { op = 3 }
  elseif op == 4 then
    req = wrk.format("GET", "/v1/users/" .. users[math.random(#users)].id, headers)
    pending = { op = 4 }
  else
    local target = users[math.random(#users)].id
    local key = (op == 1 and ("h:" .. u.id) or ("u:" .. target)) .. ":"
    local depth = math.random(0, max_depth)
    while depth > 0 and tokens[key .. depth] == nil do depth = depth - 1 end
    local path
    if op == 1 then
      path = "/v1/feed/home?page_size=" .. page_size
    else
      path = "/v1/users/" .. target .. "/posts?page_size=" .. page_size
    end
    if depth > 0 then path = path .. "&page_token=" .. escape(tokens[key .. depth]) end
    req = wrk.format("GET", path, headers)
    pending = { op = op, key = key, depth = depth }
  end
  pending.sent = now
  pending.intended = scheduled
  if scheduled > 0 and now - scheduled > 1000 then
    counts["late"] = (counts["late"] or 0) + 1
  end
  return req
end

function response(status, headers, body)
  local now = now_us()
  local p = pending
  if p == nil then return end
  pending = nil
  if now < warmup_until then return end
  local ck = OPS[p.op] .. ":" .. status
  counts[ck] = (counts[ck] or 0) + 1
  svc[p.op * 10000 + bucket(now - p.sent)] = (svc[p.op * 10000 + bucket(now - p.sent)] or 0) + 1
  if p.intended > 0 then
    local b = p.op * 10000 + bucket(now - p.intended)
    resp[b] = (resp[b] or 0) + 1
    counts["lag_sum_us"] = (counts["lag_sum_us"] or 0) + math.max(0, p.sent - p.intended)
  end
  if status < 200 or status > 299 then
    if #errsample < 2000 then errsample = errsample .. status .. " " .. OPS[p.op] .. " " .. body:sub(1, 200) .. "\n" end
    return
  end
  if (p.op == 1 or p.op == 2) and p.depth < max_depth then
    local token = body:match('"next_page_token"%s*:%s*"([^"]*)"')
    if token and #token > 0 then tokens[p.key .. (p.depth + 1)] = token end
  end
end

-- Summary as one JSON line ------------------------------------------------------------------
local function merge(into, from)
  for k, v in pairs(from) do into[k] = (into[k] or 0) + v end
end

local function json_map(t)
  local parts = {}
  for k, v in pairs(t) do table.insert(parts, string.format("%q:%d", tostring(k), v)) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local all_counts, all_svc, all_resp, errors = {}, {}, {}, ""
  for _, t in ipairs(threads) do
    merge(all_counts, t:get("counts") or {})
    merge(all_svc, t:get("svc") or {})
    merge(all_resp, t:get("resp") or {})
    if #errors < 4000 then errors = errors .. (t:get("errsample") or "") end
  end
  local pct = {}
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    table.insert(pct, string.format('"%s":%d', tostring(p), latency:percentile(p)))
  end
  local e = summary.errors
  io.write("KOO_RESULT ", "{",
    string.format('"duration_us":%d,"requests":%d,"bytes":%d,', summary.duration, summary.requests, summary.bytes),
    string.format('"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"status_errors":%d,',
      e.connect, e.read, e.write, e.timeout, e.status),
    string.format('"wrk_latency_us":{"min":%d,"max":%d,"mean":%.1f,"stdev":%.1f,"percentiles":{%s}},',
      latency.min, latency.max, latency.mean, latency.stdev, table.concat(pct, ",")),
    '"buckets_per_e":', BUCKETS_PER_E, ',',
    '"counts":', json_map(all_counts), ',',
    '"service":', json_map(all_svc), ',',
    '"response":', json_map(all_resp), ',',
    '"error_sample":', json_string(errors),
    "}\n")
end
