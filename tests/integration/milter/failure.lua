-- failure.lua - DMARC failure reports (RFC 9991) from the milter front-end
-- with report_failure_body = yes and report_failure_body_size_limit = 1k:
-- two spoofs of fail.example (p=none, ruf=, SPF "-all"), a small message
-- whose body comes in two chunks and one over the limit; the test reads the
-- queued reports (the body in the first, the header section only in the
-- second).  Globals from -D: socket.
mt.set_timeout(30)

-- miltertest exits 1 on error() without printing it: say it first
local lua_error = error
error = function(msg) print("not ok - " .. msg); lua_error(msg) end

local function check(r, what)
	if r ~= nil then error(what .. " failed: " .. tostring(r)) end
end

-- spoof - one transaction of fail.example from 203.0.113.9, body in chunks
local function spoof(qid, subject, chunks)
	local conn = mt.connect(socket)
	if conn == nil then error("connect") end
	check(mt.conninfo(conn, "client.example", "203.0.113.9"), "conninfo")
	check(mt.helo(conn, "client.example"), "helo")
	check(mt.macro(conn, SMFIC_MAIL, "i", qid), "macro")
	check(mt.mailfrom(conn, "<bob@fail.example>"), "mailfrom")
	check(mt.rcptto(conn, "<a@example.net>"), "rcptto")
	check(mt.header(conn, "From", "x@fail.example"), "header")
	check(mt.header(conn, "Subject", subject), "header")
	check(mt.eoh(conn), "eoh")
	for _, c in ipairs(chunks) do check(mt.bodystring(conn, c), "body") end
	check(mt.eom(conn), "eom")
	if mt.getreply(conn) ~= SMFIR_CONTINUE then error(qid .. ": not CONTINUE") end
	mt.disconnect(conn)
end

spoof("FBODY1", "fbody small", { "failure-body-marker-7\r\nsecond ", "line\r\n" })
print("ok - small spoof accepted")
local big = {}
for i = 1, 40 do big[i] = "big-body-marker " .. string.rep("y", 40) .. "\r\n" end
spoof("FBIG1", "fbody big", big)
print("ok - large spoof accepted")
