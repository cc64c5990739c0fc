#!/bin/sh
# Install the Debian packages latch needs to build, run and test, if any
# is missing.  Idempotent and quiet when everything is there.
set -eu
PKGS="gcc make pkg-config libc6-dev libfcgi-dev libjson-c-dev libmariadb-dev
libssl-dev libscrypt-dev libinih-dev mariadb-server mariadb-client lighttpd
curl python3 python3-jwt python3-aiosmtpd openssl wrk apache2
libapache2-mod-fcgid clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; install them with: sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
