#!/bin/sh
# dnsserver.sh - a private DNS server (Debian's unbound daemon) serving fixed
# records on 127.0.0.1, for tests that resolve through the real libunbound
# backend.  It never recurses and never touches the system's unbound.
#
# Usage:
#   dnsserver.sh start DIR PORT ZONEFILE   start; prints the port on stdout
#   dnsserver.sh stop DIR                  stop the server started in DIR
#   dnsserver.sh sign ORIGIN RECORDS OUT_ZONE OUT_TA
#                                          make a DNSSEC-signed zone file and
#                                          its DS trust anchor (dnssign.py;
#                                          exit 77 without python3-dnspython)
#
#   DIR       a scratch directory (created); holds unbound.conf, unbound.log,
#             pid and port.  Remove it yourself after stop.
#   PORT      a port, or a range LOW-HIGH (e.g. 20200-20299): ports of the
#             range are tried in random order until one is free, so parallel
#             test runs do not collide.  The port used is printed and written
#             to DIR/port.
#   ZONEFILE  one entry per line; '#' starts a comment line:
#               NAME [TTL] TYPE VALUE...   a record, e.g.
#                   mail.example. A 192.0.2.25
#                   example. MX 10 mail.example.
#                   multi.example. TXT "v=spf1 " "ip4:192.0.2.0/24 -all"
#                   25.2.0.192.in-addr.arpa. PTR mail.example.
#               zone NAME [KIND]           a local zone, KIND as unbound's
#                                          local-zone (default static); e.g.
#                                          "zone refused.example. refuse"
#                                          answers REFUSED below that name
#               authzone NAME FILE         serve zone file FILE (absolute
#                                          path, e.g. made by "sign")
#                                          authoritatively, with its
#                                          RRSIGs, for NAME and below
#               option: value              any unbound.conf server line,
#                                          copied as it is
#             VALUE must not contain a single quote.  Names that have no
#             records are NXDOMAIN, names with records but not of the asked
#             type are NODATA.  Private and documentation reverse zones
#             (RFC 6303) are served from the file like any other name.
#
# Exit status: 0 on success, 77 when /usr/sbin/unbound is not installed (so a
# test can report "skipped"), 1 on any other failure (the log is printed).
set -eu
set -f	# zone lines are split on blanks, never globbed

UNBOUND=${UNBOUND:-/usr/sbin/unbound}
READY_TRIES=100		# x 0.05 s: how long to wait for "start of service"

die() {
	echo "dnsserver.sh: $*" >&2
	exit 1
}

# write_data ZONEFILE - translate the zone file into unbound server lines
write_data() {
	while IFS= read -r line || [ -n "$line" ]; do
		# shellcheck disable=SC2086
		set -- $line
		[ $# -eq 0 ] && continue
		case "$1" in
		\#*) continue ;;
		*:) printf '    %s\n' "$line" ;;
		zone) printf '    local-zone: "%s" %s\n' "$2" "${3:-static}" ;;
		authzone)
			# local zones answer first: let NAME through to auth-zone
			printf '    local-zone: "%s" transparent\n' "$2"
			printf 'auth-zone:\n    name: "%s"\n    zonefile: "%s"\n' \
			    "$2" "$3" >>"$authzones"
			printf '    for-downstream: yes\n    for-upstream: no\n' \
			    >>"$authzones"
			;;
		*)
			case "$line" in *\'*) die "single quote in: $line" ;; esac
			name=$1
			shift
			ttl=300
			case "$1" in [0-9]*) ttl=$1; shift ;; esac
			printf "    local-data: '%s %s IN %s'\n" "$name" "$ttl" "$*"
			;;
		esac
	done <"$1"
}

# write_conf DIR PORT ZONEFILE - the whole unbound.conf
write_conf() {
	cat >"$1/unbound.conf" <<EOF
server:
    verbosity: 1
    interface: 127.0.0.1
    port: $2
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    so-reuseport: no
    num-threads: 1
    chroot: ""
    username: ""
    directory: "$1"
    pidfile: "$1/unbound.pid"
    use-syslog: no
    logfile: "$1/unbound.log"
    do-daemonize: no
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    msg-cache-size: 1m
    rrset-cache-size: 1m
    unblock-lan-zones: yes
    insecure-lan-zones: yes
    local-zone: "." static
EOF
	authzones="$1/authzones.conf"
	: >"$authzones"
	write_data "$3" >>"$1/unbound.conf"
	cat "$authzones" >>"$1/unbound.conf"
	cat >>"$1/unbound.conf" <<EOF
remote-control:
    control-enable: no
EOF
}

# try_port DIR PORT ZONEFILE - 0 started, 2 port busy, 1 other failure
try_port() {
	write_conf "$1" "$2" "$3"
	: >"$1/unbound.log"
	"$UNBOUND" -d -c "$1/unbound.conf" </dev/null >>"$1/unbound.log" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt $READY_TRIES ]; do
		if grep -q "start of service" "$1/unbound.log"; then
			echo "$pid" >"$1/pid"
			echo "$2" >"$1/port"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			grep -qi "address already in use\|can't bind" \
			    "$1/unbound.log" && return 2
			return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
	kill "$pid" 2>/dev/null || true
	return 1
}

# port_list PORT|LOW-HIGH - candidate ports, range in random order
port_list() {
	case "$1" in
	*-*) seq "${1%-*}" "${1#*-}" | shuf ;;
	*) echo "$1" ;;
	esac
}

start() {
	[ $# -eq 3 ] || die "usage: dnsserver.sh start DIR PORT|LOW-HIGH ZONEFILE"
	[ -x "$UNBOUND" ] || { echo "dnsserver.sh: $UNBOUND missing" >&2; exit 77; }
	[ -r "$3" ] || die "cannot read zone file $3"
	mkdir -p "$1"
	dir=$(cd "$1" && pwd)
	write_conf "$dir" 53 "$3"
	"${UNBOUND}-checkconf" "$dir/unbound.conf" >"$dir/checkconf.log" 2>&1 ||
	    { cat "$dir/checkconf.log" >&2; die "bad configuration from $3"; }
	for port in $(port_list "$2"); do
		rc=0
		try_port "$dir" "$port" "$3" || rc=$?
		case $rc in
		0) echo "$port"; return 0 ;;
		2) continue ;;
		*) cat "$dir/unbound.log" >&2; die "unbound failed to start" ;;
		esac
	done
	die "no free port in $2"
}

stop() {
	[ $# -eq 1 ] || die "usage: dnsserver.sh stop DIR"
	[ -f "$1/pid" ] || return 0
	pid=$(cat "$1/pid")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 40 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$1/pid"
}

sign() {
	[ $# -eq 4 ] || die "usage: dnsserver.sh sign ORIGIN RECORDS OUT_ZONE OUT_TA"
	[ -x /usr/bin/python3 ] || { echo "dnsserver.sh: /usr/bin/python3 missing" >&2; exit 77; }
	exec /usr/bin/python3 "$(dirname "$0")/dnssign.py" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start) start "$@" ;;
stop) stop "$@" ;;
sign) sign "$@" ;;
*) die "usage: dnsserver.sh start DIR PORT|LOW-HIGH ZONEFILE | stop DIR | sign ORIGIN RECORDS OUT_ZONE OUT_TA" ;;
esac
