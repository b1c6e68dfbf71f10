# tests/integration/lib.sh - shared harness for the integration scripts.
#
# Source it from a numbered script (tests/integration/NN-name.sh) run by meson
# with MAILAUTH_BUILD / MAILAUTH_SRC in the environment. Everything it starts
# lives in one temporary directory on 127.0.0.1 high ports and is torn down
# by an EXIT trap: it never touches the system Postfix (/etc/postfix), the
# system resolver or port 25. Postfix instances are private: their own
# config_directory, queue_directory, data_directory and log file, driven with
# `postfix -c DIR` (allowed for the super-user without listing DIR in the
# default main.cf's alternate_config_directories, postfix(1) and
# mail_conf.c), so tests expect to run as root, as CI does.
#
# Functions (all names start with ma_; NAME is a short instance label)
#
#   ma_init TESTNAME          temp dir $MA_TMP (mode 755), EXIT trap, logs.
#   ma_cleanup                the EXIT trap (stops instances and daemons,
#                             removes $MA_TMP). A test that sets its own EXIT
#                             trap calls it last; it keeps the exit status.
#   ma_skip MSG               print MSG, exit 77 (meson: skipped).
#   ma_require_cmd CMD...     ma_skip unless every CMD is on PATH.
#   ma_require_root           ma_skip unless uid 0.
#   ma_fail MSG               print MSG and every registered log, exit 1
#                             (inside $(...) it only ends the subshell).
#   ma_ok MSG                 print "ok - MSG" (one line per assertion).
#   ma_assert_grep PATTERN FILE MSG    ma_ok MSG if grep -E finds PATTERN,
#                             ma_fail otherwise (prints FILE).
#   ma_assert_no_grep PATTERN FILE MSG the opposite.
#   ma_wait_grep SECS PATTERN FILE MSG ma_assert_grep after waiting up to
#                             SECS for PATTERN: for logs written by others
#                             (maillog lines come from postlogd, after the
#                             delivery they report).
#   ma_log_register FILE      show FILE (tail) on failure.
#   ma_port_busy PORT         true when something listens on 127.0.0.1:PORT.
#   ma_wait_port PORT [SECS]  wait until 127.0.0.1:PORT accepts (default 10 s).
#   ma_check_port_free PORT   ma_fail when something already listens there.
#   ma_wait_for SECS CMD...   retry CMD every 0.1 s until it succeeds or SECS.
#   ma_bg NAME CMD...         run a daemon in the background, stdout+stderr to
#                             $MA_TMP/NAME.log (registered), pid in
#                             $MA_TMP/NAME.pid; killed at exit.
#   ma_bg_stop NAME           SIGTERM the daemon, wait, SIGKILL after 5 s.
#   ma_bg_alive NAME          true while it runs.
#   ma_bg_pid NAME            prints its pid.
#   ma_pid_running PID        true while PID exists and is not a zombie.
#   ma_user_ensure USER       create a system user (no home, no shell) if
#                             missing, for daemons that drop privileges.
#
#   DNS (tests/integration/dnsserver.sh, a private unbound):
#   ma_dns_start NAME PORT|LOW-HIGH ZONEFILE
#                             start it in $MA_TMP/NAME, set MA_DNS_PORT to
#                             the port it got, register unbound.log, stop it
#                             at exit; ma_skip when unbound is not installed.
#
#   Sink (Postfix's smtp-sink, one file per transaction):
#   ma_sink_start NAME PORT   listen on 127.0.0.1:PORT, dump every delivered
#                             transaction into $MA_TMP/NAME/dump/.
#   ma_sink_dir NAME          prints the dump directory.
#   ma_sink_files NAME        prints the dump files of finished transactions
#                             (smtp-sink creates a file when a transaction
#                             starts and fills it at its end; files it still
#                             holds open are left out here and below).
#   ma_sink_count NAME        prints the number of finished transactions.
#   ma_sink_wait NAME N [SECS] wait until at least N transactions finished.
#   ma_sink_find NAME PATTERN prints the dump files matching grep -E PATTERN.
#   Dump format: X-Client-Addr:, X-Helo-Args:, X-Mail-Args:, one X-Rcpt-Args:
#   per recipient, then the message (smtp-sink(1)).
#
#   Postfix instance:
#   ma_postfix_create NAME SMTPD_PORT SINK_PORT
#                             writes $MA_TMP/NAME/etc/{main,master}.cf: smtpd
#                             on 127.0.0.1:SMTPD_PORT accepting mail for
#                             example.net (relay_domains) from anyone and
#                             relaying everything to smtp-sink on
#                             [127.0.0.1]:SINK_PORT; XCLIENT/XFORWARD allowed
#                             from 127.0.0.1; no chroot; maillog_file
#                             $MA_TMP/NAME/maillog (registered); deferred
#                             mail is retried every 1-2 s.
#   ma_postfix_dir NAME       prints the config_directory (for -c).
#   ma_postconf NAME 'key = value'...   edit main.cf (postconf -e).
#   ma_postfix_master NAME 'master.cf line'...   append service lines
#                             (continuation lines start with a space).
#   ma_postfix_content_filter NAME FILTER_PORT REINJECT_PORT [PROC_LIMIT]
#                             FILTER_README's after-queue pattern: the public
#                             smtpd gets content_filter=scan:[127.0.0.1]:FILTER_PORT
#                             (smtp client with XFORWARD), and a second smtpd
#                             on 127.0.0.1:REINJECT_PORT with content_filter=,
#                             no milters, receive_override_options=
#                             no_unknown_recipient_checks,no_header_body_checks,
#                             no_milters,no_address_mappings and
#                             local_header_rewrite_clients= takes the mail
#                             back. Call before ma_postfix_start. Log names:
#                             postfix/scan/smtp and postfix/reinject/smtpd.
#   ma_postfix_start NAME     postfix start (runs postfix check: creates the
#                             queue directories); waits for the smtpd port.
#   ma_postfix_stop NAME      SIGTERM to master (as postfix stop), waits
#                             until master and all its daemons are gone.
#   ma_postfix_master_pid NAME   prints the master pid (pid file may be stale).
#   ma_postfix_queue_empty NAME         true when the queue is empty.
#   ma_postfix_wait_queue_empty NAME [SECS]  flushes deferred mail and waits.
#   ma_postqueue NAME ARGS... postqueue -c DIR ARGS.
#
#   SMTP client:
#   ma_swaks OUTFILE ARGS...  swaks --server (default 127.0.0.1:$MA_SMTPD_PORT
#                             of the last created instance; a --server in
#                             ARGS wins) with ARGS; the
#                             transcript goes to OUTFILE (registered); returns
#                             swaks' exit code (0 delivered, 23 MAIL refused,
#                             24 every RCPT refused, 25 DATA refused, ...).
#   Claim a client with: --xclient-addr 192.0.2.1 --helo mx.example.org
#   (swaks sends EHLO again after XCLIENT, so --helo is the HELO Postfix sees).
#
# Environment knobs: MA_KEEP=1 keeps $MA_TMP after the run; MA_VERBOSE=1
# prints swaks transcripts as they happen.

set -u

MA_TMP=
MA_SMTPD_PORT=
MA_DNS_PORT=
MA_PIDS_NAMES=()
MA_POSTFIX_NAMES=()
MA_LOGS=()

# ma_init - create the run directory and the cleanup trap
ma_init() {
	local name=$1
	MA_TEST=$name
	MA_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ma-$name.XXXXXX") ||
		{ echo "cannot create temp dir" >&2; exit 1; }
	# daemons that dropped privileges (postfix, policyd's user) read here
	chmod 755 "$MA_TMP"
	trap ma_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

# ma_skip - report a skip and exit 77
ma_skip() {
	echo "SKIP: $*"
	exit 77
}

# ma_require_cmd - skip unless every command exists
ma_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] ||
			ma_skip "$c not installed"
	done
}

# ma_require_root - skip unless running as the super-user
ma_require_root() {
	[ "$(id -u)" = 0 ] || ma_skip "needs root (private Postfix instances)"
}

# ma_log_register - a file shown when the test fails
ma_log_register() {
	MA_LOGS+=("$1")
}

# ma_dump_logs - print the tail of every registered log
ma_dump_logs() {
	local f
	for f in "${MA_LOGS[@]}"; do
		[ -f "$f" ] || continue
		echo "----- $f (last 60 lines) -----"
		tail -n 60 "$f"
	done
	echo "----- end of logs -----"
}

# ma_fail - report a failed assertion with the logs, exit 1
ma_fail() {
	MA_FAILED=1
	echo "FAIL: $*"
	ma_dump_logs
	exit 1
}

# ma_ok - report a passed assertion
ma_ok() {
	echo "ok - $*"
}

# ma_assert_grep - assert that FILE matches an extended regex
ma_assert_grep() {
	local pat=$1 file=$2 msg=$3
	if grep -Eq -- "$pat" "$file"; then
		ma_ok "$msg"
	else
		echo "expected /$pat/ in $file:"
		cat "$file"
		ma_fail "$msg"
	fi
}

# ma_assert_no_grep - assert that FILE does not match an extended regex
ma_assert_no_grep() {
	local pat=$1 file=$2 msg=$3
	if grep -Eq -- "$pat" "$file"; then
		echo "unexpected /$pat/ in $file:"
		cat "$file"
		ma_fail "$msg"
	else
		ma_ok "$msg"
	fi
}

# ma_wait_grep - like ma_assert_grep, for a log another process may still
# be writing: waits up to SECS seconds for the line
ma_wait_grep() {
	local secs=$1
	shift
	ma_wait_for "$secs" grep -Eq -- "$1" "$2" 2>/dev/null
	ma_assert_grep "$@"
}

# ma_wait_for - retry a command every 0.1 s for up to SECS seconds
ma_wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# ma_port_busy - true when a TCP listener answers on 127.0.0.1:PORT
ma_port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ma_wait_port - wait until 127.0.0.1:PORT accepts connections
ma_wait_port() {
	ma_wait_for "${2:-10}" ma_port_busy "$1"
}

# ma_check_port_free - fail early when a port of ours is taken
ma_check_port_free() {
	! ma_port_busy "$1" ||
		ma_fail "port 127.0.0.1:$1 already in use (stale test run?)"
}

# ma_bg - start a background daemon with its log registered
ma_bg() {
	local name=$1
	shift
	"$@" >"$MA_TMP/$name.log" 2>&1 &
	echo $! >"$MA_TMP/$name.pid"
	MA_PIDS_NAMES+=("$name")
	ma_log_register "$MA_TMP/$name.log"
}

# ma_bg_alive - true while the named daemon runs
ma_bg_alive() {
	local pid
	pid=$(cat "$MA_TMP/$1.pid" 2>/dev/null) || return 1
	ma_pid_running "$pid"
}

# ma_bg_pid - print the pid of a named daemon
ma_bg_pid() {
	cat "$MA_TMP/$1.pid"
}

# ma_pid_running - true while a process exists and is not a zombie
ma_pid_running() {
	local st
	st=$(ma_proc_stat "$1") || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}

# ma_kill_pid - SIGTERM a pid, wait up to 5 s, then SIGKILL
ma_kill_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		ma_pid_running "$pid" || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ma_bg_stop - stop a named daemon
ma_bg_stop() {
	local pid
	pid=$(cat "$MA_TMP/$1.pid" 2>/dev/null) || return 0
	ma_kill_pid "$pid"
	rm -f "$MA_TMP/$1.pid"
}

# ma_user_ensure - create a system user for privilege dropping if missing
ma_user_ensure() {
	id "$1" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$1" 2>/dev/null || id "$1" >/dev/null 2>&1
}

# ma_dns_start - private unbound through dnsserver.sh, stopped at exit
ma_dns_start() {
	local name=$1 range=$2 zone=$3 dir=$MA_TMP/$1 rc
	"$(dirname "${BASH_SOURCE[0]}")/dnsserver.sh" start "$dir" "$range" "$zone" \
		>"$MA_TMP/$name.port" 2>"$MA_TMP/$name.err"
	rc=$?
	[ $rc = 77 ] && ma_skip "unbound not installed"
	[ $rc = 0 ] || { cat "$MA_TMP/$name.err"; ma_fail "dnsserver.sh start ($name)"; }
	MA_DNS_PORT=$(cat "$MA_TMP/$name.port")
	ma_log_register "$dir/unbound.log"
	cp "$dir/pid" "$MA_TMP/$name.pid"
	MA_PIDS_NAMES+=("$name")
}

# ma_sink_dir - the dump directory of a sink
ma_sink_dir() {
	echo "$MA_TMP/$1/dump"
}

# ma_sink_start - start smtp-sink dumping each transaction to a file
ma_sink_start() {
	local name=$1 port=$2 dir
	dir=$(ma_sink_dir "$name")
	mkdir -p "$dir"
	chown postfix "$dir"
	ma_check_port_free "$port"
	# -u: smtp-sink refuses to keep root privileges; the dump template's
	# "/" makes it write into $dir, one file per transaction.
	ma_bg "$name-sink" /usr/sbin/smtp-sink -u postfix -h sink.example \
		-d "$dir/%Y%m%d%H%M%S." "127.0.0.1:$port" 256
	ma_wait_port "$port" || ma_fail "smtp-sink did not listen on $port"
}

# ma_sink_files - dump files of finished transactions: smtp-sink creates
# the file when the transaction starts and writes it at its end, so a file
# the sink process still has open is left out
ma_sink_files() {
	local dir pid fd open=
	dir=$(ma_sink_dir "$1")
	pid=$(cat "$MA_TMP/$1-sink.pid" 2>/dev/null)
	if [ -n "$pid" ]; then
		for fd in /proc/"$pid"/fd/*; do
			open+=$(readlink "$fd" 2>/dev/null)$'\n'
		done
	fi
	find "$dir" -type f | sort | while IFS= read -r f; do
		case $'\n'"$open" in
		*$'\n'"$f"$'\n'*) ;;
		*) echo "$f" ;;
		esac
	done
}

# ma_sink_count - number of finished transactions received by the sink
ma_sink_count() {
	ma_sink_files "$1" | wc -l
}

# ma_sink_has - true when at least N transactions arrived
ma_sink_has() {
	[ "$(ma_sink_count "$1")" -ge "$2" ]
}

# ma_sink_wait - wait for at least N finished transactions at the sink
ma_sink_wait() {
	ma_wait_for "${3:-20}" ma_sink_has "$1" "$2"
}

# ma_sink_find - finished dump files whose content matches an extended regex
ma_sink_find() {
	local f
	ma_sink_files "$1" | while IFS= read -r f; do
		grep -Eq -- "$2" "$f" 2>/dev/null && echo "$f"
	done
}

# ma_postfix_dir - the config_directory of an instance
ma_postfix_dir() {
	echo "$MA_TMP/$1/etc"
}

# ma_postconf - set main.cf parameters of an instance
ma_postconf() {
	local name=$1
	shift
	postconf -c "$(ma_postfix_dir "$name")" -e "$@" ||
		ma_fail "postconf $* failed"
}

# ma_postqueue - postqueue for an instance
ma_postqueue() {
	local name=$1
	shift
	postqueue -c "$(ma_postfix_dir "$name")" "$@"
}

# ma_postfix_master - append service lines to an instance's master.cf
ma_postfix_master() {
	local name=$1 line
	shift
	for line in "$@"; do
		printf '%s\n' "$line" >>"$(ma_postfix_dir "$name")/master.cf"
	done
}

# ma_postfix_create - write a private instance's main.cf and master.cf
ma_postfix_create() {
	local name=$1 port=$2 sink=$3 base etc
	base=$MA_TMP/$name
	etc=$base/etc
	mkdir -p "$etc" "$base/spool" "$base/data"
	chown postfix "$base/data"
	MA_SMTPD_PORT=$port
	cat >"$etc/main.cf" <<EOF
# private test instance "$name" (tests/integration/lib.sh)
compatibility_level = 3.6
queue_directory = $base/spool
data_directory = $base/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.mailauth.example
mydomain = mailauth.example
myorigin = \$myhostname
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = example.net
local_recipient_maps =
relay_recipient_maps =
alias_maps =
alias_database =
relay_transport = smtp:[127.0.0.1]:$sink
default_transport = smtp:[127.0.0.1]:$sink
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_authorized_xforward_hosts = 127.0.0.1
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
maillog_file = $base/maillog
maillog_file_prefixes = $base
biff = no
delay_warning_time = 0
# retry fast: tests wait for the queue to empty
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
EOF
	cat >"$etc/master.cf" <<EOF
# private test instance "$name": no chroot, loopback high ports only
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	echo "$port" >"$base/smtpd.port"
	ma_log_register "$base/maillog"
}

# ma_postfix_content_filter - FILTER_README after-queue filter wiring
ma_postfix_content_filter() {
	local name=$1 fport=$2 rport=$3 limit=${4:-10}
	ma_postconf "$name" "content_filter = scan:[127.0.0.1]:$fport"
	ma_postfix_master "$name" \
		"scan      unix  -       -       n       -       $limit      smtp" \
		"  -o syslog_name=postfix/scan" \
		"  -o smtp_send_xforward_command=yes" \
		"  -o disable_mime_output_conversion=yes" \
		"  -o smtp_generic_maps=" \
		"127.0.0.1:$rport inet n - n - - smtpd" \
		"  -o syslog_name=postfix/reinject" \
		"  -o content_filter=" \
		"  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters,no_address_mappings" \
		"  -o smtpd_milters=" \
		"  -o local_header_rewrite_clients=" \
		"  -o smtpd_helo_restrictions=" \
		"  -o smtpd_client_restrictions=" \
		"  -o smtpd_sender_restrictions=" \
		"  -o smtpd_recipient_restrictions=permit_mynetworks,reject" \
		"  -o smtpd_relay_restrictions=permit_mynetworks,reject" \
		"  -o mynetworks=127.0.0.0/8" \
		"  -o smtpd_authorized_xforward_hosts=127.0.0.0/8"
	echo "$rport" >"$MA_TMP/$name/reinject.port"
}

# ma_postfix_master_pid - pid of an instance's master, empty if none
ma_postfix_master_pid() {
	local f=$MA_TMP/$1/spool/pid/master.pid
	[ -f "$f" ] && tr -d ' \n' <"$f"
}

# ma_postfix_start - start a private instance and wait for its smtpd
ma_postfix_start() {
	local name=$1 dir port
	dir=$(ma_postfix_dir "$name")
	port=$(cat "$MA_TMP/$name/smtpd.port")
	ma_check_port_free "$port"
	MA_POSTFIX_NAMES+=("$name")
	postfix -c "$dir" start >"$MA_TMP/$name/start.log" 2>&1 ||
		{ cat "$MA_TMP/$name/start.log"; ma_fail "postfix start ($name)"; }
	ma_wait_port "$port" || ma_fail "postfix $name: smtpd not listening on $port"
}

# ma_postfix_stop - stop an instance and wait for its master to exit
ma_postfix_stop() {
	local name=$1 pid i
	pid=$(ma_postfix_master_pid "$name")
	if [ -z "$pid" ] || ! ma_pid_running "$pid"; then
		return 0
	fi
	# what "postfix stop" does, without its one-second polling; master
	# leads a process group (setsid), its daemons may outlive it briefly
	# and still hold the listening sockets: wait for the whole group
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		ma_pgrp_running "$pid" || return 0
		sleep 0.1
	done
	# not gone after 10 s: kill the process group
	kill -KILL -- "-$pid" 2>/dev/null
	return 0
}

# ma_proc_stat PID - "state ppid pgrp ..." of /proc/PID/stat (after comm)
ma_proc_stat() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	echo "${st##*) }"
}

# ma_pgrp_running - true while a process of group PGID is alive (not zombie)
ma_pgrp_running() {
	local pgid=$1 f st
	for f in /proc/[0-9]*; do
		st=$(ma_proc_stat "${f#/proc/}") || continue
		# shellcheck disable=SC2086
		set -- $st
		[ "${3:-}" = "$pgid" ] && [ "$1" != Z ] && return 0
	done
	return 1
}

# ma_postfix_queue_empty - true when an instance's queue is empty
ma_postfix_queue_empty() {
	ma_postqueue "$1" -p 2>/dev/null | grep -q '^Mail queue is empty'
}

# ma_postfix_wait_queue_empty - flush and wait until the queue drains
ma_postfix_wait_queue_empty() {
	local name=$1 secs=${2:-30}
	ma_postqueue "$name" -f >/dev/null 2>&1
	ma_wait_for "$secs" ma_postfix_queue_empty "$name"
}

# ma_swaks - one SMTP session with swaks, transcript to a file
ma_swaks() {
	local out=$1 rc
	shift
	ma_log_register "$out"
	swaks --server "127.0.0.1:$MA_SMTPD_PORT" --timeout 30 "$@" >"$out" 2>&1
	rc=$?
	[ "${MA_VERBOSE:-0}" = 1 ] && cat "$out"
	return $rc
}

# ma_cleanup - EXIT trap: stop everything this test started.  It does not
# call exit, so the script's own exit status stands even when a test's trap
# runs other commands before it; MA_FAILED (set by ma_fail) tells it whether
# to keep the run directory.
ma_cleanup() {
	local rc=$? n
	[ -n "${MA_FAILED:-}" ] && rc=1
	trap - EXIT
	for n in "${MA_POSTFIX_NAMES[@]}"; do
		ma_postfix_stop "$n"
	done
	for n in "${MA_PIDS_NAMES[@]}"; do
		ma_bg_stop "$n"
	done
	if [ -n "$MA_TMP" ] && [ -d "$MA_TMP" ]; then
		if [ "${MA_KEEP:-0}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ] &&
			[ "${CI:-}" != true ]; }; then
			echo "kept $MA_TMP"
		else
			rm -rf "$MA_TMP"
		fi
	fi
	return 0
}
