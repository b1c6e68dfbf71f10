-- spf.lua - SPF from connect/HELO/MAIL FROM in the milter (RFC 7208), a fail
-- refused with RFC 7372's 550 5.7.23 at RCPT or at the end of DATA.
-- A temperror (refused.example's server refuses) gets 451 4.7.24 at the same
-- place (milter_spf_temperror_tempfail = yes).
-- Globals from -D: socket, mode ("rcpt" or "data").  DNS: example.org
-- authorises 198.51.100.7 only ("-all").
mt.set_timeout(30)

local function check(r, what)
	if r ~= nil then error(what .. " failed: " .. tostring(r)) end
end

-- transaction - one message from addr; returns the reply to RCPT and to EOM
local function transaction(conn, addr, qid, sender)
	check(mt.conninfo(conn, "client.example", addr), "conninfo")
	check(mt.helo(conn, "client.example"), "helo")
	check(mt.macro(conn, SMFIC_MAIL, "i", qid), "macro")
	check(mt.mailfrom(conn, "<" .. (sender or "bob@example.org") .. ">"), "mailfrom")
	check(mt.rcptto(conn, "<b@example.net>"), "rcptto")
	local rcpt = mt.getreply(conn)
	if rcpt == SMFIR_REPLYCODE then return rcpt, nil end
	check(mt.header(conn, "From", "bob@example.org"), "header")
	check(mt.eoh(conn), "eoh")
	check(mt.bodystring(conn, "spf\r\n"), "body")
	check(mt.eom(conn), "eom")
	return rcpt, mt.getreply(conn)
end

local conn = mt.connect(socket)
if conn == nil then error("connect") end
local rcpt, eom = transaction(conn, "203.0.113.9", "SPFFAIL1")
if mode == "rcpt" then
	if rcpt ~= SMFIR_REPLYCODE then error("rcpt mode: RCPT not refused") end
	print("ok - rcpt mode: SPF fail refused at RCPT")
else
	if rcpt ~= SMFIR_CONTINUE then error("data mode: RCPT refused") end
	if eom ~= SMFIR_REPLYCODE then error("data mode: EOM not refused") end
	print("ok - data mode: SPF fail refused at the end of DATA")
end
mt.disconnect(conn)

conn = mt.connect(socket)
rcpt, eom = transaction(conn, "198.51.100.7", "SPFPASS1")
if rcpt ~= SMFIR_CONTINUE or eom ~= SMFIR_CONTINUE then
	error(mode .. " mode: SPF pass refused")
end
print("ok - " .. mode .. " mode: SPF pass accepted")
mt.disconnect(conn)

conn = mt.connect(socket)
rcpt, eom = transaction(conn, "203.0.113.9", "SPFTEMP1", "bob@refused.example")
if (mode == "rcpt" and rcpt ~= SMFIR_REPLYCODE) or
    (mode == "data" and eom ~= SMFIR_REPLYCODE) then
	error(mode .. " mode: SPF temperror not refused")
end
print("ok - " .. mode .. " mode: SPF temperror refused")
mt.disconnect(conn)
