-- opendkim-sign.lua - drive a private opendkim milter with miltertest(8) to sign
-- messages, the way Postfix hands a message to a milter: header values without
-- the space after the colon, folding as LF + whitespace, body chunks as they
-- are (CRLF).
-- Globals from miltertest -D: sock (inet:PORT@127.0.0.1), list (a file naming
-- one message per line), outdir.  For each message writes outdir/<name>: the
-- "DKIM-Signature:" field opendkim added (folding turned into CRLF, as Postfix
-- writes it) followed by the message.

local BODY_CHUNK = 65535	-- milter body chunks are at most 64 KiB

-- split_message - header section (with its last CRLF) and body
local function split_message(msg)
	local hend = string.find(msg, "\r\n\r\n", 1, true)
	if hend == nil then
		return msg, ""
	end
	return string.sub(msg, 1, hend + 1), string.sub(msg, hend + 4)
end

-- header_fields - the fields of a header section, continuation lines joined by LF
local function header_fields(head)
	local fields = {}
	for line in string.gmatch(head, "(.-)\r\n") do
		if string.match(line, "^[ \t]") and #fields > 0 then
			fields[#fields] = fields[#fields] .. "\n" .. line
		else
			table.insert(fields, line)
		end
	end
	return fields
end

-- send_message - one transaction; returns the DKIM-Signature value added
local function send_message(msg)
	local head, body = split_message(msg)
	local conn = mt.connect(sock, 40, 0.05)
	if conn == nil then error("cannot connect to " .. sock) end
	if mt.conninfo(conn, "localhost", "127.0.0.1") ~= nil then error("conninfo") end
	mt.macro(conn, SMFIC_MAIL, "i", "INTEROP1")
	if mt.mailfrom(conn, "sender@example.com") ~= nil then error("mailfrom") end
	if mt.rcptto(conn, "rcpt@example.org") ~= nil then error("rcptto") end
	for _, fld in ipairs(header_fields(head)) do
		local name, value = string.match(fld, "^([^:]+):(.*)$")
		if name == nil then error("bad header line: " .. fld) end
		value = string.gsub(value, "^ ", "", 1)
		if mt.header(conn, name, value) ~= nil then error("header " .. name) end
	end
	if mt.eoh(conn) ~= nil then error("eoh") end
	-- an empty body is still a body step (an empty file sends no chunk):
	-- miltertest would fill a
	-- skipped body step with random text of its own
	if #body == 0 and mt.bodyfile(conn, "/dev/null") ~= nil then error("body") end
	local pos = 1
	while pos <= #body do
		if mt.bodystring(conn, string.sub(body, pos, pos + BODY_CHUNK - 1)) ~= nil then
			error("body")
		end
		pos = pos + BODY_CHUNK
	end
	if mt.eom(conn) ~= nil then error("eom") end
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
