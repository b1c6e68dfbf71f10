-- milter-feed.lua - what opendkim-sign.lua and opendkim-verify.lua share:
-- one message handed to a milter through miltertest(8) the way Postfix
-- does, header values without the space after the colon, folding as LF +
-- whitespace, body chunks as they are (CRLF).  Loaded with dofile; defines
-- the global feed_message.

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

-- feed_message - connect to sock as client (name, addr) and hand over msg
-- from sender to rcpt with queue id qid, up to end of message; the open
-- connection, for the caller to read what the milter did
function feed_message(sock, client, msg, qid, sender, rcpt)
	local head, body = split_message(msg)
	local conn = mt.connect(sock, 40, 0.05)
	if conn == nil then error("cannot connect to " .. sock) end
	if mt.conninfo(conn, client.name, client.addr) ~= nil then error("conninfo") end
	mt.macro(conn, SMFIC_MAIL, "i", qid)
	if mt.mailfrom(conn, sender) ~= nil then error("mailfrom") end
	if mt.rcptto(conn, rcpt) ~= nil then error("rcptto") end
	for _, fld in ipairs(header_fields(head)) do
		local name, value = string.match(fld, "^([^:]+):(.*)$")
		if name == nil then error("bad header line: " .. fld) end
		value = string.gsub(value, "^ ", "", 1)
		if mt.header(conn, name, value) ~= nil then error("header " .. name) end
	end
	if mt.eoh(conn) ~= nil then error("eoh") end
	-- an empty body is still a body step: miltertest would fill a skipped
	-- body step with random text of its own
	if #body == 0 and mt.bodyfile(conn, "/dev/null") ~= nil then error("body") end
	local pos = 1
	while pos <= #body do
		if mt.bodystring(conn, string.sub(body, pos, pos + BODY_CHUNK - 1)) ~= nil then
			error("body")
		end
		pos = pos + BODY_CHUNK
	end
	if mt.eom(conn) ~= nil then error("eom") end
	return conn
end
