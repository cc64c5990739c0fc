-- requests.lua: the requests "make bench" makes with wrk.
--
--   wrk -t T -c C -d D -s tests/bench/requests.lua URL -- MODE FILE T [once]
--
-- MODE     each request                                 each line of FILE
-- verify   POST {"token": LINE}                         an access token
-- profile  GET with "Authorization: Bearer LINE"        an access token
-- refresh  POST {"refresh_token": LINE}                 a refresh token
-- login    POST {"identifier": U, "password": P}        U <tab> P
-- get      GET, nothing else (FILE is "-")
--
-- The method, path (URL's) and body are the same whichever server the URL
-- names, so latch and the null responder see requests of one shape.
-- Thread k of T takes lines k, k+T, k+2T, ... and cycles through them;
-- with "once" it uses each line once (a refresh token is spent when
-- used) and stops when it has none left, and done() reports it.
-- done() prints one line "BENCH {...}" for tests/bench/bench.py.

local threads = {}
local nthreads = 0

function setup(thread)
   nthreads = nthreads + 1
   thread:set("tid", nthreads - 1)
   table.insert(threads, thread)
end

local mode, items, n, i, once, json_hdr
exhausted = 0

local function jstr(s)
   -- Tokens, usernames and the bench password need no escaping, but a
   -- stray quote or backslash must not make a malformed body.
   return '"' .. s:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

function init(args)
   mode = args[1]
   local file, t = args[2], tonumber(args[3])
   once = args[4] == "once"
   json_hdr = { ["Content-Type"] = "application/json" }
   items, n, i = {}, 0, 0
   if mode == "get" then
      return
   end
   local k = 0
   for line in io.lines(file) do
      if k % t == tid and line ~= "" then
         n = n + 1
         items[n] = line
      end
      k = k + 1
   end
   if n == 0 then
      error("requests.lua: no lines for thread " .. tid .. " in " .. file)
   end
end

local function next_item()
   i = i + 1
   if i > n then
      if once then
         exhausted = 1
         wrk.thread:stop()
         i = n          -- the request below is never answered
      else
         i = 1
      end
   end
   return items[i]
end

function request()
   if mode == "get" then
      return wrk.format("GET", wrk.path)
   elseif mode == "verify" then
      return wrk.format("POST", wrk.path, json_hdr,
         '{"token":' .. jstr(next_item()) .. '}')
   elseif mode == "profile" then
      return wrk.format("GET", wrk.path,
         { ["Authorization"] = "Bearer " .. next_item() })
   elseif mode == "refresh" then
      return wrk.format("POST", wrk.path, json_hdr,
         '{"refresh_token":' .. jstr(next_item()) .. '}')
   elseif mode == "login" then
      local u, p = next_item():match("^([^\t]*)\t(.*)$")
      return wrk.format("POST", wrk.path, json_hdr,
         '{"identifier":' .. jstr(u) .. ',"password":' .. jstr(p) .. '}')
   end
   error("requests.lua: unknown mode " .. tostring(mode))
end

function done(summary, latency, requests)
   local ex = 0
   for _, t in ipairs(threads) do
      ex = ex + (t:get("exhausted") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
      '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
      '"exhausted":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.mean, latency.max,
      e.connect, e.read, e.write, e.status, e.timeout, ex))
end
