#!/bin/sh
# contrib/apache/fcgid/latch.fcgi: latch on shared hosting with mod_fcgid
# under suEXEC (no root, no daemon of one's own).  The step-by-step guide
# is docs/deploy/shared-hosting-apache.md; in short, with latch installed
# by "make install PREFIX=$HOME/latch SYSCONFDIR=$HOME":
#
#   ~/latch/sbin/latchd, latch-mailer    the programs
#   ~/latch/latch.ini                    the config, yours, mode 0600
#   ~/latch/spool/                       the mail spool, yours
#   ~/public_html/auth/latch.fcgi        this script (mode 0755)
#   ~/public_html/auth/.htaccess         contrib/apache/fcgid/htaccess
#   ~/public_html/auth/*.html, latch.css, favicon.svg, js/   the pages
#
# The pages are then https://host/~alice/auth/ and the API
# https://host/~alice/auth/api/...: .htaccess hands "api/..." to this
# script and latchd routes on PATH_INFO.  In latch.ini, [server]
# base_path = /~alice/auth/api (the pages' cookies are scoped by it),
# workers = 1 (mod_fcgid starts as many latchds as it likes, each serving
# the socket it gives on fd 0 in its own process), and [mail]
# run_mailer = false with latch-mailer --once from your crontab.
#
# suEXEC runs this as you, which is what makes it safe: latchd reads your
# own 0600 latch.ini (it refuses one that others can read, that its group
# can write, or that belongs to anyone but root and the user running it)
# and writes a spool that your cron's latch-mailer can read.  Without
# suEXEC it would run as the web server's user, who would need your
# secrets: don't.
#
# suEXEC passes no environment of the host's to this script, so latch's
# directory is found from where the script is: the "latch" directory two
# levels above it (~/latch for ~/public_html/auth/latch.fcgi), unless
# LATCH_HOME is set.
#
# mod_fcgid keeps a latchd running between requests: after changing
# latch.ini, replace this file by a copy (mod_fcgid tells programs apart
# by their file, and starts fresh ones for the new file):
#   cp -p latch.fcgi latch.fcgi.new && mv latch.fcgi.new latch.fcgi
here=$(cd "$(dirname "$0")" && pwd) || exit 1
: "${LATCH_HOME:=$here/../../latch}"
LATCH_CONFIG="$LATCH_HOME/latch.ini"
export LATCH_CONFIG
exec "$LATCH_HOME/sbin/latchd"
