-- wrk script: POSTs the leads of leads.ndjson in turn, one per request,
-- and prints the figures run.sh reads.
local leads = {}
for line in io.lines(os.getenv("LEADS") or "leads.ndjson") do
  leads[#leads + 1] = line
end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  i = i % #leads + 1
  return wrk.format(nil, nil, nil, leads[i])
end

local non2xx = 0
response = function(status, headers, body)
  if status ~= 200 then non2xx = non2xx + 1 end
end

done = function(summary, latency, requests)
  local rps = summary.requests / (summary.duration / 1e6)
  io.write(string.format("RESULT rps=%.0f p50_us=%d p99_us=%d max_us=%d errors=%d\n",
    rps, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
