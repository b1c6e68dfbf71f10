-- opendkim-verify.lua - drive a private opendkim milter with miltertest(8) to
-- verify messages, the way Postfix hands a message to a milter: header values
-- without the space after the colon, folding as LF + whitespace, body chunks
-- as they are (CRLF).
-- Globals from miltertest -D: sock (inet:PORT@127.0.0.1), list (a file naming
-- one message per line), outdir.  For each message writes outdir/<name>: a
-- first line "reply WHAT" (the milter's answer to end of message: accept,
-- continue, tempfail, reject, discard, "replycode" and the SMTP reply when
-- it set one of its own, or other), then each
-- Authentication-Results field opendkim added, one per line, folding
-- unfolded.

local AR_LIMIT = 10		-- at most this many added fields are read

-- the shared feeder, beside this script
dofile(string.match(debug.getinfo(1, "S").source, "^@?(.*/)") .. "milter-feed.lua")

-- the parts of the replies OpenDKIM sets of its own (opendkim.c,
-- dkimf_libstatus): the milter protocol carries the whole line, and
-- miltertest matches it only whole
local RCODES = { "550", "554", "451", "450", "421" }
local XCODES = { "5.7.0", "5.7.1", "5.7.5", "4.7.0", "4.7.1", "4.7.5", "4.3.0", "4.4.3" }
local TEXTS = {
	"bad DKIM signature data", "DKIM signature verification failed",
	"DKIM signature syntax error", "no DKIM signature data",
	"DKIM key retrieval failed", "internal DKIM error",
	"resource unavailable", "DKIM security violation",
}

-- reply_line - the reply OpenDKIM set, or "other"
local function reply_line(conn)
	for _, rc in ipairs(RCODES) do
		for _, xc in ipairs(XCODES) do
			for _, text in ipairs(TEXTS) do
				if mt.eom_check(conn, MT_SMTPREPLY, rc, xc, text) then
					return rc .. " " .. xc .. " " .. text
				end
			end
		end
	end
	return "other"
end

-- reply_name - the words for the milter's end-of-message reply
local function reply_name(conn)
	local r = mt.getreply(conn)
	if r == SMFIR_REPLYCODE then return "replycode " .. reply_line(conn) end
	if r == SMFIR_ACCEPT then return "accept" end
	if r == SMFIR_CONTINUE then return "continue" end
	if r == SMFIR_TEMPFAIL then return "tempfail" end
	if r == SMFIR_REJECT then return "reject" end
	if r == SMFIR_DISCARD then return "discard" end
	return "other"
end

-- send_message - one transaction; returns the reply and the A-R fields added
local function send_message(msg)
	-- a client outside InternalHosts, as a verifier sees mail
	local conn = feed_message(sock, { name = "client.example", addr = "192.0.2.1" },
	    msg, "VERIFY1", "sender@example.org", "rcpt@example.com")
	local out = { "reply " .. reply_name(conn) }
	for n = 0, AR_LIMIT - 1 do
		local ar = mt.getheader(conn, "Authentication-Results", n)
		if ar == nil then break end
		ar = string.gsub(ar, "\r?\n[ \t]*", " ")
		table.insert(out, ar)
	end
	mt.disconnect(conn)
	return out
end

for path in io.lines(list) do
	local f = assert(io.open(path, "rb"))
	local msg = f:read("*a")
	f:close()
	local out = send_message(msg)
	local name = string.match(path, "([^/]+)$")
	local o = assert(io.open(outdir .. "/" .. name, "wb"))
	o:write(table.concat(out, "\n") .. "\n")
	o:close()
end
