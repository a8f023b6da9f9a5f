-- wrk script for benchmarks/run.py.
--
--   wrk ... -s load.lua URL -- MODE RUN_ID ORIGIN [SOLUTIONS THREADS]
--
-- MODE "form" and "json" post a signature whose address is new for every request (run id,
-- wrk thread and a per-thread counter), so each request is a new signature and none is
-- answered as a repeat. MODE "get" sends the plain GET of URL. ORIGIN, when given, is sent as
-- the Origin header, as a browser would. SOLUTIONS, when given, is a file of proof-of-work
-- solutions, one per line: each signing carries the next one as "altcha" (wrk thread N of
-- THREADS takes lines N, N+THREADS, ...), so none is sent twice. At the end one line starting with
-- BENCH_JSON carries the figures run.py reads.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

local mode, run_id, counter, get_request
local solutions = nil

function init(args)
  mode = args[1] or "get"
  run_id = args[2] or "run"
  counter = 0
  if args[3] and args[3] ~= "" then
    wrk.headers["Origin"] = args[3]
  end
  if mode == "form" then
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  elseif mode == "json" then
    wrk.headers["Content-Type"] = "application/json"
  end
  get_request = wrk.format("GET", wrk.path)
  if args[4] and args[4] ~= "" then
    solutions = {}
    local thread_total = tonumber(args[5]) or 1
    local line_number = 0
    for line in io.lines(args[4]) do
      if line_number % thread_total == thread_number - 1 then
        solutions[#solutions + 1] = line
      end
      line_number = line_number + 1
    end
  end
end

local function form_escape(text)
  return (text:gsub("[+/=]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  if mode == "get" then
    return get_request
  end
  counter = counter + 1
  local local_part = string.format("signer-%s-%d-%d", run_id, thread_number, counter)
  local name = string.format("Test Signer %d", counter)
  local body
  -- Past the end of the file a signing goes without one, and the engine refuses it.
  local solution = solutions and solutions[counter]
  if mode == "json" then
    body = string.format('{"name":"%s","email":"%s@example.org"', name, local_part)
    if solution then body = body .. string.format(',"altcha":"%s"', solution) end
    body = body .. "}"
  else
    body = string.format("name=%s&email=%s%%40example.org", name:gsub(" ", "+"), local_part)
    if solution then body = body .. "&altcha=" .. form_escape(solution) end
  end
  return wrk.format("POST", wrk.path, nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"latency_mean_us":%.1f,"latency_p50_us":%d,"latency_p99_us":%d,"latency_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, errors.status,
    errors.connect, errors.read, errors.write, errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
