-- actions.lua - the DMARC tag and redirect actions and {daemon_name} as
-- milter modification requests (miltertest, opendkim-tools).  Globals from
-- -D: socket.  The instance has dmarc_quarantine_action = tag,
-- dmarc_reject_action = redirect, milter_redirect_recipient =
-- quarantine@example.net and milter_sign_daemons = ORIGINATING; DNS:
-- quar.example p=quarantine, rej.example p=reject, neither with SPF.
mt.set_timeout(30)

-- miltertest exits 1 on error() without printing it: say it first
local lua_error = error
error = function(msg) print("not ok - " .. msg); lua_error(msg) end

local function check(r, what)
	if r ~= nil then error(what .. " failed: " .. tostring(r)) end
end

-- message - one transaction from 203.0.113.9 on a new connection with the
-- given {daemon_name}; returns the connection after EOM answered CONTINUE
local function message(daemon, qid, from, subject)
	local conn = mt.connect(socket)
	if conn == nil then error("connect") end
	check(mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", daemon,
	    "{if_addr}", "192.0.2.1"), "macro")
	check(mt.conninfo(conn, "client.example", "203.0.113.9"), "conninfo")
	check(mt.helo(conn, "client.example"), "helo")
	check(mt.macro(conn, SMFIC_MAIL, "i", qid), "macro")
	check(mt.mailfrom(conn, "<" .. from .. ">"), "mailfrom")
	check(mt.rcptto(conn, "<a@example.net>"), "rcptto")
	check(mt.rcptto(conn, "<b@example.net>"), "rcptto")
	check(mt.header(conn, "From", from), "header")
	check(mt.header(conn, "To", "a@example.net, b@example.net"), "header")
	if subject then check(mt.header(conn, "Subject", subject), "header") end
	check(mt.eoh(conn), "eoh")
	check(mt.bodystring(conn, "actions\r\n"), "body")
	check(mt.eom(conn), "eom")
	if mt.getreply(conn) ~= SMFIR_CONTINUE then error(qid .. ": not CONTINUE") end
	return conn
end

-- 1. tag: the Subject changed in place, not deleted and inserted again
local conn = message("smtpd", "TAG1", "x@quar.example", "hello")
if not mt.eom_check(conn, MT_HDRCHANGE, "Subject", " [SPAM] hello") then
	error("tag: no CHGHEADER Subject ' [SPAM] hello'")
end
if mt.eom_check(conn, MT_HDRDELETE, "Subject") or
    mt.eom_check(conn, MT_HDRINSERT, "Subject") then
	error("tag: Subject deleted or inserted instead of changed")
end
-- (the index of each request: tests/unit/test_reinject_milter.c)
if not mt.eom_check(conn, MT_HDRINSERT, "X-Spam-Flag", " YES") then
	error("tag: X-Spam-Flag not inserted")
end
if mt.eom_check(conn, MT_RCPTDELETE, "<a@example.net>") then
	error("tag: a recipient deleted")
end
print("ok - tag: CHGHEADER Subject ' [SPAM] hello', X-Spam-Flag inserted")
mt.disconnect(conn)

-- 2. tag without a Subject: one is inserted
conn = message("smtpd", "TAG2", "x@quar.example", nil)
if not mt.eom_check(conn, MT_HDRINSERT, "Subject", " [SPAM]") or
    mt.eom_check(conn, MT_HDRCHANGE, "Subject") then
	error("tag without Subject: no INSHEADER Subject ' [SPAM]'")
end
print("ok - tag without a Subject: INSHEADER Subject ' [SPAM]'")
mt.disconnect(conn)

-- 3. redirect: both recipients deleted as sent, the quarantine one added
conn = message("smtpd", "REDIR1", "x@rej.example", "pay")
for _, r in ipairs({ "<a@example.net>", "<b@example.net>" }) do
	if not mt.eom_check(conn, MT_RCPTDELETE, r) then
		error("redirect: " .. r .. " not deleted")
	end
end
if not mt.eom_check(conn, MT_RCPTADD, "<quarantine@example.net>") then
	error("redirect: quarantine@example.net not added")
end
if mt.eom_check(conn, MT_HDRCHANGE, "Subject") then
	error("redirect: Subject changed")
end
print("ok - redirect: DELRCPT <a@example.net> <b@example.net>, ADDRCPT <quarantine@example.net>")
mt.disconnect(conn)

-- 4. {daemon_name} listed in milter_sign_daemons: signed, not verified,
-- although the client is neither internal nor authenticated
conn = message("ORIGINATING", "DAEMON1", "alice@example.org", "submitted")
if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
	error("daemon_name ORIGINATING: not signed")
end
if mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then
	error("daemon_name ORIGINATING: verified too")
end
print("ok - {daemon_name} ORIGINATING: signed, no Authentication-Results")
mt.disconnect(conn)

-- 5. the same client on another daemon: verified, not signed
conn = message("smtpd", "DAEMON2", "alice@example.org", "inbound")
if mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") or
    not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results") then
	error("daemon_name smtpd: signed or not verified")
end
print("ok - {daemon_name} smtpd: verified, not signed")
mt.disconnect(conn)
