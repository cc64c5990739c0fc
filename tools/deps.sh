#!/bin/sh
# Install the Debian packages latch needs to build, run and test, if any
# is missing.  Idempotent and quiet when everything is there.
set -eu
PKGS="gcc make pkg-config libc6-dev libfcgi-dev libjson-c-dev libmariadb-dev
libssl-dev libscrypt-dev libinih-dev libcrypt-dev libargon2-dev
libqrencode-dev mariadb-server mariadb-client lighttpd curl python3
python3-jwt python3-cryptography python3-jwcrypto python3-jsonschema
python3-aiosmtpd python3-pyotp openssl wrk apache2 apache2-utils nginx
caddy libapache2-mod-fcgid apache2-suexec-pristine clang libclang-rt-14-dev
clang-format
chromium chromium-driver python3-selenium python3-bcrypt python3-argon2
adduser iproute2 procps
debhelper lintian man-db systemd python3-seccomp
python3-prometheus-client galera-4 rsync"
missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

# fail2ban's own fail2ban-regex checks contrib/fail2ban/latch.conf against
# latchd's real log in the tests.  It is unpacked into build/fail2ban, not
# installed: installing would start (and enable) its service here.
f2b() {
	[ -x build/fail2ban/usr/bin/fail2ban-regex ] && return 0
	mkdir -p build/fail2ban
	(cd build/fail2ban && apt-get download -qq fail2ban >/dev/null 2>&1 &&
	    dpkg -x fail2ban_*.deb . && rm -f fail2ban_*.deb)
}

# Prometheus' promtool checks contrib/prometheus/'s rules in the tests.
# Unpacked into build/prometheus, not installed: installing would start
# (and enable) a Prometheus server here.
promtool() {
	[ -x build/prometheus/usr/bin/promtool ] && return 0
	mkdir -p build/prometheus
	(cd build/prometheus && apt-get download -qq prometheus >/dev/null 2>&1 &&
	    dpkg -x prometheus_*.deb . && rm -f prometheus_*.deb)
}

unpacked() {
	f2b || { echo "deps: cannot fetch the fail2ban package" >&2; return 1; }
	promtool || { echo "deps: cannot fetch the prometheus package" >&2
	    return 1; }
}

if [ -z "$missing" ]; then
	{ f2b && promtool; } 2>/dev/null ||
	    { [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null; } || true
	unpacked || exit 1
	exit 0
fi
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; install them with: sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# latch runs its own MariaDB and web servers on free ports: the packages'
# system services (lighttpd, apache2, nginx, caddy on port 80) are not
# started on install (policy-rc.d, Debian's switch for that, while
# apt-get runs, unless the machine has one of its own).
norc=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	norc=1
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
if [ -n "$norc" ]; then
	rm -f /usr/sbin/policy-rc.d
	trap - EXIT
fi
unpacked || exit 1
