-- negotiate.lua - option negotiation as sendmail's client does it, one
-- connection per offer (miltertest, opendkim-tools).  Globals from -D:
-- socket.
-- Debian 12's miltertest puts mt.negotiate's third argument in the
-- protocol word and the fourth in the actions word (its manual says the
-- opposite; the milter's log shows which arrived), so the calls below pass
-- (version, steps, actions).
mt.set_timeout(10)

-- send_message - connect..EOM; the A-R field must come back at the top
local function send_message(conn, want_step_replies)
	local function step(r, what)
		if r ~= nil then error(what .. " failed") end
		if want_step_replies and mt.getreply(conn) ~= SMFIR_CONTINUE then
			error(what .. ": no CONTINUE where no no-reply flag was offered")
		end
	end
	step(mt.conninfo(conn, "client.example", "198.51.100.7"), "conninfo")
	step(mt.helo(conn, "client.example"), "helo")
	step(mt.mailfrom(conn, "<bob@example.org>"), "mailfrom")
	step(mt.header(conn, "From", "bob@example.org"), "header")
	step(mt.header(conn, "Subject", "negotiation"), "header")
	step(mt.eoh(conn), "eoh")
	step(mt.bodystring(conn, "hello\r\n"), "body")
	if mt.eom(conn) ~= nil then error("eom failed") end
	if mt.getreply(conn) ~= SMFIR_CONTINUE then error("eom: not CONTINUE") end
	if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then
		error("no Authentication-Results inserted")
	end
end

-- 1. everything offered (Postfix): no replies before EOM
local conn = mt.connect(socket)
if conn == nil then error("connect") end
if mt.negotiate(conn, 6, 0x1fffff, 0x1ff) ~= nil then error("negotiate all") end
send_message(conn, false)
mt.disconnect(conn)
print("ok - negotiation with every flag offered: one round trip per message")

-- 2. no NR_* and no HDR_LEADSPC offered (sendmail 8.13 style): a reply to
-- every step, and the message still gets its field
conn = mt.connect(socket)
if mt.negotiate(conn, 6, 0x37f, 0x3f) ~= nil then error("negotiate old") end
send_message(conn, true)
mt.disconnect(conn)
print("ok - negotiation without no-reply flags: CONTINUE to every step")

-- 3. an MTA that forbids changing headers: refused, connection closed
conn = mt.connect(socket)
if mt.negotiate(conn, 6, 0x1fffff, 0x01) == nil then
	error("negotiation without CHGHDRS/QUARANTINE was accepted")
end
print("ok - negotiation without the actions needed closes the connection")
