-- wrk script: PUT attendance marks for random (session, enrolment) pairs, each with a new client_mark_id.
-- The pairs and the bearer token come from the environment (written by bench/load.py).
local pairs_text = os.getenv("GROUPWORK_LOAD_PAIRS") or ""
local token = os.getenv("GROUPWORK_LOAD_TOKEN") or ""
local pairs = {}
for s, e in string.gmatch(pairs_text, "(%d+):(%d+)") do
  pairs[#pairs + 1] = {s, e}
end
local statuses = {"attended", "apologies", "absent"}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

local function uuid()
  return string.format("%08x-%04x-4%03x-a%03x-%012x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0x7fffffff) * 4096 + math.random(0, 4095))
end

local seq = 0
function request()
  seq = seq + 1
  local p = pairs[math.random(#pairs)]
  local body = string.format('{"status": "%s", "client_mark_id": "%s", "marked_at": "2026-11-23T10:%02d:%02d+00:00"}',
    statuses[math.random(3)], uuid(), math.floor(seq / 60) % 60, seq % 60)
  return wrk.format("PUT", "/api/v1/sessions/" .. p[1] .. "/attendance/" .. p[2], nil, body)
end

local bad = 0
function response(status, headers, body)
  if status ~= 200 and status ~= 201 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("GROUPWORK {\"requests\": %d, \"errors\": %d, \"socket_errors\": %d, \"p50_us\": %d, \"p95_us\": %d, \"p99_us\": %d, \"mean_us\": %.1f, \"duration_us\": %d, \"non2xx\": %d}\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, summary.duration, summary.errors.status))
end
