-- timeout.lua - milter_message_timeout: a message whose end does not come in
-- time has its connection closed (the MTA's milter_default_action, tempfail
-- as documented, then defers it).  Globals from -D: socket.
-- Run by 50-milter-miltertest.sh, which expects miltertest to fail here.  The instance
-- runs with milter_message_timeout = 2s.
mt.set_timeout(10)
local conn = mt.connect(socket)
if conn == nil then error("connect") end
if mt.conninfo(conn, "client.example", "198.51.100.7") ~= nil then error("conninfo") end
if mt.mailfrom(conn, "<bob@example.org>") ~= nil then error("mailfrom") end
if mt.header(conn, "From", "bob@example.org") ~= nil then error("header") end
mt.sleep(4)
-- miltertest exits with an error once the milter has closed; if the
-- message is still answered, say so on stdout for the test to see
if mt.eoh(conn) == nil and mt.eom(conn) == nil and mt.getreply(conn) ~= nil then
	print("ANSWERED after milter_message_timeout")
end
