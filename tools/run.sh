#!/bin/sh
# "make run": MariaDB, latchd and lighttpd in the foreground, state in
# ${DIR:-var} (created on the first run, reused afterwards).  See
# tools/stack.py.
set -eu
exec /usr/bin/python3 "$(dirname "$0")/stack.py" run --dir "${DIR:-var}" \
	--port "${PORT:-8080}"
