#!/usr/bin/env bash
# package-test.sh - the Debian package, as an administrator meets it:
#   1. dpkg-buildpackage builds it from a copy of the source tree, and
#      lintian reports no error;
#   2. apt installs it; the installed programs' -t accepts the installed
#      configurations; each daemon starts from its unit's ExecStart line (no
#      systemd needed), policyd answers one policy request and reinject
#      relays one message to an smtp-sink standing in for Postfix's 10026;
#   3. a rebuilt higher version upgrades it, and a conffile the
#      administrator changed is kept;
#   4. purge removes the configuration, the directories postinst made and
#      the programs.
# It installs a package on this machine, so it runs only as root and only
# when asked (CI=true or MAILAUTH_PACKAGE_TEST=1); exit 77 otherwise.  The
# daemons run in a private network namespace, so no port of the machine is
# used.
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${CI:-}" != true ] && [ "${MAILAUTH_PACKAGE_TEST:-0}" != 1 ]; then
	echo "SKIP: installs a package on this machine; set MAILAUTH_PACKAGE_TEST=1"
	exit 77
fi
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (apt install)"; exit 77; }
for t in dpkg-buildpackage lintian unshare smtp-sink; do
	command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
if dpkg-query -W -f='${Status}' mailauth 2>/dev/null | grep -q installed; then
	echo "SKIP: a mailauth package is already installed here"
	exit 77
fi

tmp=$(mktemp -d /tmp/mailauth-pkg.XXXXXX)
fails=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
cleanup() {
	dpkg-query -W mailauth >/dev/null 2>&1 && apt-get purge -y -q mailauth >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# build VERSION - build the package of this tree as VERSION into $tmp/VERSION
build() {
	local v=$1 d=$tmp/$1
	mkdir -p "$d/src"
	(cd "$src" && git ls-files -co --exclude-standard) | grep -v '^build' |
	    (cd "$src" && tar -cf - -T -) | tar -xf - -C "$d/src"
	if [ "$v" != "$(cd "$d/src" && dpkg-parsechangelog -S Version)" ]; then
		{ printf 'mailauth (%s) unstable; urgency=medium\n\n' "$v"
		  printf '  * Rebuilt for the upgrade test.\n\n'
		  printf ' -- mailauth developers <mailauth@example.org>  %s\n\n' \
		      "$(date -R)"
		  cat "$d/src/debian/changelog"; } >"$d/changelog"
		mv "$d/changelog" "$d/src/debian/changelog"
	fi
	(cd "$d/src" && dpkg-buildpackage -us -uc -b >"$d/build.log" 2>&1) ||
	    { tail -30 "$d/build.log"; return 1; }
	ls "$d"/mailauth_"$v"_*.deb >/dev/null
}

# unit_exec UNIT - the ExecStart command line of an installed unit
unit_exec() {
	sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1.service" | head -1
}

# run_daemons - start both daemons from their units in a private network
# namespace, ask policyd once, relay one message through reinject
run_daemons() {
	local policyd reinject
	policyd=$(unit_exec mailauth-policyd)
	reinject=$(unit_exec mailauth-reinject)
	unshare -n bash -s "$tmp" "$policyd" "$reinject" <<'EOS'
set -u
tmp=$1 policyd=$2 reinject=$3
ip link set lo up
mkdir -p "$tmp/sink"
chmod 0755 "$tmp"
chmod 0777 "$tmp/sink"
smtp-sink -u nobody -d "$tmp/sink/%M." 127.0.0.1:10026 16 &
sink=$!
$policyd >"$tmp/policyd.log" 2>&1 &
p=$!
$reinject >"$tmp/reinject.log" 2>&1 &
r=$!
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/10040) 2>/dev/null &&
	    (exec 3<>/dev/tcp/127.0.0.1/10025) 2>/dev/null && break
	sleep 0.2
done
/usr/bin/python3 - <<'EOP' >"$tmp/policy.reply"
import socket
s = socket.create_connection(("127.0.0.1", 10040), timeout=20)
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
          b"client_address=192.0.2.1\nclient_name=unknown\n"
          b"helo_name=mail.example\nsender=\n"
          b"recipient=user@example.org\ninstance=1.1\n\n")
data = b""
while not data.endswith(b"\n\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
EOP
/usr/bin/python3 - <<'EOP' >"$tmp/smtp.log" 2>&1
import smtplib
s = smtplib.SMTP("127.0.0.1", 10025, timeout=60)
s.sendmail("a@example.org", ["b@example.org"],
           b"From: a@example.org\r\nTo: b@example.org\r\nSubject: package\r\n\r\nbody\r\n")
s.quit()
print("relayed")
EOP
kill -TERM $p $r
wait $p $r 2>/dev/null
kill $sink
wait $sink 2>/dev/null
true
EOS
}

echo "# building 0.1.0 and a higher version for the upgrade"
base=$(cd "$src" && dpkg-parsechangelog -S Version)
next="$base+upgrade1"
build "$base" || { fail "dpkg-buildpackage $base"; exit 1; }
ok "dpkg-buildpackage builds $base"
errs=$(lintian "$tmp/$base"/mailauth_"$base"_*.changes 2>&1 | grep '^E:')
[ -z "$errs" ] && ok "lintian: no errors" || fail "lintian errors: $errs"

apt-get install -y -q "$tmp/$base"/mailauth_"$base"_*.deb >"$tmp/apt.log" 2>&1 ||
    { cat "$tmp/apt.log"; fail "apt installs the package"; exit 1; }
ok "apt installs the package"
id mailauth >/dev/null 2>&1 && ok "the mailauth user exists" || fail "no mailauth user"
[ "$(stat -c %U /var/spool/reinject 2>/dev/null)" = mailauth ] &&
    ok "/var/spool/reinject belongs to mailauth" || fail "spool directory"
for p in policyd reinject; do
	out=$("/usr/sbin/mailauth-$p" -t -c "/etc/mailauth/$p.conf" 2>&1) &&
	    ok "mailauth-$p -t accepts /etc/mailauth/$p.conf" ||
	    fail "mailauth-$p -t: $out"
done
for p in policyd reinject; do
	"/usr/sbin/mailauth-$p" -t >/dev/null 2>&1 &&
	    ok "mailauth-$p -t finds its default configuration" ||
	    fail "mailauth-$p -t without -c"
done

run_daemons
grep -q '^action=' "$tmp/policy.reply" &&
    ok "policyd answers: $(head -1 "$tmp/policy.reply")" ||
    { cat "$tmp/policyd.log"; fail "no policy answer"; }
if grep -q relayed "$tmp/smtp.log" && [ -n "$(ls "$tmp/sink" 2>/dev/null)" ] &&
    grep -q "^Authentication-Results:" "$tmp/sink"/*; then
	ok "reinject relays a message with Authentication-Results"
else
	cat "$tmp/smtp.log" "$tmp/reinject.log"
	fail "reinject did not relay the message"
fi

echo "# upgrade to $next with a changed conffile"
echo "# changed by the administrator" >>/etc/mailauth/policyd.conf
build "$next" || { fail "dpkg-buildpackage $next"; exit 1; }
apt-get install -y -q "$tmp/$next"/mailauth_"$next"_*.deb >"$tmp/apt2.log" 2>&1 ||
    { cat "$tmp/apt2.log"; fail "upgrade"; exit 1; }
[ "$(dpkg-query -W -f='${Version}' mailauth)" = "$next" ] &&
    ok "upgraded to $next" || fail "version after the upgrade"
grep -q "changed by the administrator" /etc/mailauth/policyd.conf &&
    ok "the changed conffile is kept" || fail "the changed conffile was replaced"

apt-get purge -y -q mailauth >"$tmp/apt3.log" 2>&1 || fail "purge"
left=""
for f in /etc/mailauth /var/spool/reinject /var/lib/mailauth /usr/sbin/mailauth-reinject \
    /lib/systemd/system/mailauth-policyd.service; do
	[ -e "$f" ] && left="$left $f"
done
[ -z "$left" ] && ok "purge removes what the package created" || fail "left after purge:$left"

[ $fails -eq 0 ]
