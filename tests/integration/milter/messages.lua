-- messages.lua - one connection carrying several messages the way sendmail's
-- client sends them: macros per stage, a message aborted in the middle of
-- its body, a SASL-authenticated message (signed), an inbound one
-- (Authentication-Results, forged field deleted), a 20 MiB body in
-- 64 KiB chunks, and a local submission of unknown address family.  Globals from -D: socket, authserv (our authserv-id).
mt.set_timeout(60)

local function check(r, what)
	if r ~= nil then error(what .. " failed: " .. tostring(r)) end
end

-- envelope - MAIL with the queue id and an optional SASL login
local function envelope(conn, qid, login)
	if login then
		check(mt.macro(conn, SMFIC_MAIL, "i", qid, "{auth_authen}", login), "macro")
	else
		check(mt.macro(conn, SMFIC_MAIL, "i", qid), "macro")
	end
	check(mt.mailfrom(conn, "<alice@example.org>"), "mailfrom")
	check(mt.header(conn, "From", "Alice <alice@example.org>"), "header")
	check(mt.header(conn, "To", "b@example.net"), "header")
	check(mt.header(conn, "Subject", "milter " .. qid), "header")
end

-- final - EOM answered with CONTINUE
local function final(conn, what)
	check(mt.eom(conn), "eom")
	if mt.getreply(conn) ~= SMFIR_CONTINUE then error(what .. ": not CONTINUE") end
end

local conn = mt.connect(socket)
if conn == nil then error("connect") end
check(mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "{daemon_name}", "smtpd",
    "{if_addr}", "192.0.2.1"), "macro")
check(mt.conninfo(conn, "client.example", "198.51.100.7"), "conninfo")
check(mt.helo(conn, "client.example"), "helo")

-- 1. aborted in the middle of the body: nothing of it may leak into the next
envelope(conn, "ABORTED1", "alice")
check(mt.eoh(conn), "eoh")
check(mt.bodystring(conn, "first half\r\n"), "body")
check(mt.abort(conn), "abort")
print("ok - message aborted mid-body")

-- 2. authenticated: signed, the signature inserted at the top
envelope(conn, "SIGNED1", "alice")
check(mt.eoh(conn), "eoh")
check(mt.bodystring(conn, "signed body\r\n"), "body")
final(conn, "signed")
if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
	error("authenticated message not signed")
end
if mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then
	error("signed submission got an Authentication-Results field")
end
print("ok - {auth_authen} set: DKIM-Signature inserted")

-- 3. inbound on the same connection: verified, our forged field deleted
check(mt.macro(conn, SMFIC_MAIL, "i", "INBOUND1"), "macro")
check(mt.mailfrom(conn, "<bob@example.org>"), "mailfrom")
check(mt.header(conn, "Authentication-Results", authserv .. "; dkim=pass"), "header")
check(mt.header(conn, "From", "bob@example.org"), "header")
check(mt.header(conn, "Authentication-Results", "other.example; spf=pass"), "header")
check(mt.eoh(conn), "eoh")
check(mt.bodystring(conn, "inbound\r\n"), "body")
final(conn, "inbound")
if not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then
	error("no Authentication-Results inserted")
end
if not mt.eom_check(conn, MT_HDRCHANGE, "Authentication-Results") then
	error("forged Authentication-Results not deleted")
end
if mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
	error("inbound message signed")
end
print("ok - inbound: A-R inserted, forged A-R deleted, not signed")

-- 4. a 20 MiB body in 64 KiB chunks
envelope(conn, "LARGE1", nil)
check(mt.eoh(conn), "eoh")
local line = string.rep("x", 1022) .. "\r\n"
local chunk = string.rep(line, 64)
for i = 1, 320 do
	check(mt.bodystring(conn, chunk), "body chunk " .. i)
end
final(conn, "20 MiB")
print("ok - 20 MiB body accepted")
mt.disconnect(conn)

-- 5. a local submission (unknown address family): {client_addr} from the
-- connect macros, listed in internal_hosts, so it is signed
conn = mt.connect(socket)
check(mt.macro(conn, SMFIC_CONNECT, "{client_addr}", "192.0.2.99"), "macro")
check(mt.conninfo(conn, "localhost", "unspec"), "conninfo")
envelope(conn, "LOCAL1", nil)
check(mt.eoh(conn), "eoh")
check(mt.bodystring(conn, "local\r\n"), "body")
final(conn, "local")
if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
	error("local submission with an internal {client_addr} not signed")
end
print("ok - unknown family: {client_addr} from the macros, internal, signed")
mt.disconnect(conn)
