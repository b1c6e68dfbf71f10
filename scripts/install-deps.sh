#!/bin/sh
# install-deps.sh [--test] - install the Debian 12 packages that building and
# running need (.ci/packages.txt), and with --test also those only the tests
# need (.ci/packages-test.txt); one name per line, '#' comments;
# non-interactively.
#
# Installing must not change how the machine runs: postfix is pre-seeded as
# "No configuration" (no main.cf, no system Postfix on port 25), and while
# apt-get runs a policy-rc.d refuses every service start (unbound, postfix),
# then it is removed again.  A policy-rc.d that was already there (Docker
# images ship one) is left alone.  unbound and postfix, when installed by
# this script, are also disabled in systemd: the tests run private
# instances and need only the programs.
#
# Run as root (re-runs itself through sudo otherwise).  Does nothing but a
# check when every listed package is already installed.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps.sh: run as root" >&2; exit 1; }
	exec sudo "$0" "$@"
fi

top=$(cd "$(dirname "$0")/.." && pwd)
lists="$top/.ci/packages.txt"
[ "${1:-}" = --test ] && lists="$lists $top/.ci/packages-test.txt"
policy=/usr/sbin/policy-rc.d
test_daemons="unbound postfix opendkim postgresql"	# packages whose service the tests never use

# shellcheck disable=SC2086
pkgs=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' $lists | grep -v '^$' | sort -u)

missing=""
for p in $pkgs; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps.sh: all $(echo "$pkgs" | wc -l) packages already installed"
	exit 0
fi
echo "install-deps.sh: installing:$missing"

export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" |
    debconf-set-selections

own_policy=no
cleanup() {
	[ "$own_policy" = yes ] && rm -f "$policy"
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# installed by mailauth scripts/install-deps.sh for the duration of apt-get\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=yes
fi

apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q $missing

# Daemons needed only as programs for the tests' private instances: when
# this run installed them, do not let systemd start them at the next boot
# either (systemctl disables offline too, and update-rc.d covers sysvinit).
# A daemon that was already installed is not touched.
for p in $missing; do
	case " $test_daemons " in
	*" $p "*)
		command -v systemctl >/dev/null 2>&1 &&
		    systemctl disable "$p" >/dev/null 2>&1
		command -v update-rc.d >/dev/null 2>&1 &&
		    update-rc.d "$p" disable >/dev/null 2>&1
		;;
	esac
done
exit 0
