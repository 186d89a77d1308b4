-- ingest.lua: wrk script posting pre-signed bodies (one per line of a file), each thread its own share, each once.
-- Each request is formatted once, in init, not per call: wrk runs on the same cores as the stack it measures,
-- and building the request in Lua on every call was part of what it cost per reading.
-- usage: wrk ... -s ingest.lua URL -- BODIES_FILE THREADS PATH
local nthreads_created = 0

function setup(thread)
  thread:set("tid", nthreads_created)
  nthreads_created = nthreads_created + 1
end

local bodies, n, i, wrapped = {}, 0, 0, 0

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  wrk.method = "POST"
  wrk.path = args[3]
  wrk.headers["Content-Type"] = "application/json"
  local k = 0
  for line in io.lines(file) do
    if k % nthreads == tid then
      n = n + 1
      bodies[n] = wrk.format(nil, nil, nil, line)
    end
    k = k + 1
  end
end

function request()
  i = i + 1
  if i > n then
    i = 1
    wrapped = wrapped + 1
  end
  return bodies[i]
end

function done(summary, latency, requests)
  io.write(string.format("WRK requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d " ..
    "connect_err=%d read_err=%d write_err=%d timeouts=%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
