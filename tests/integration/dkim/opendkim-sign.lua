-- opendkim-sign.lua - drive a private opendkim milter with miltertest(8) to sign
-- messages, the way Postfix hands a message to a milter: header values without
-- the space after the colon, folding as LF + whitespace, body chunks as they
-- are (CRLF).
-- Globals from miltertest -D: sock (inet:PORT@127.0.0.1), list (a file naming
-- one message per line), outdir.  For each message writes outdir/<name>: the
-- "DKIM-Signature:" field opendkim added (folding turned into CRLF, as Postfix
-- writes it) followed by the message.

-- the shared feeder, beside this script
dofile(string.match(debug.getinfo(1, "S").source, "^@?(.*/)") .. "milter-feed.lua")

-- send_message - one transaction; returns the DKIM-Signature value added
local function send_message(msg)
	local conn = feed_message(sock, { name = "localhost", addr = "127.0.0.1" },
	    msg, "INTEROP1", "sender@example.com", "rcpt@example.org")
	local sig = mt.getheader(conn, "DKIM-Signature", 0)
	mt.disconnect(conn)
	return sig
end

for path in io.lines(list) do
	local f = assert(io.open(path, "rb"))
	local msg = f:read("*a")
	f:close()
	local sig = send_message(msg)
	local name = string.match(path, "([^/]+)$")
	if sig == nil then
		print("unsigned " .. name)	-- the caller decides whether that is right
	else
		sig = string.gsub(sig, "\r?\n", "\r\n")
		local o = assert(io.open(outdir .. "/" .. name, "wb"))
		-- Postfix inserts "name:" and the value as the filter gave it
		-- (leading space included)
		o:write("DKIM-Signature:" .. sig .. "\r\n" .. msg)
		o:close()
	end
end
