#!/bin/sh
# contrib/apache/fcgid/latch.fcgi: latch on shared hosting with mod_fcgid
# (no root, no daemon of one's own).  Copy this file and
# contrib/apache/fcgid/htaccess (as .htaccess) into the web directory that
# should hold latch, e.g. ~/public_html/auth/, with the pages (www/*), and
# make it executable:
#
#   ~/latch/bin/latchd           build/latchd (and build/latch-mailer)
#   ~/latch/latch.ini            the config (mode 0640, see below)
#   ~/public_html/auth/.htaccess
#   ~/public_html/auth/latch.fcgi    this script (chmod 0755)
#   ~/public_html/auth/*.html, latch.css, favicon.svg, js/   the pages
#
# The pages are then https://host/~alice/auth/ and the API
# https://host/~alice/auth/api/... (or whatever URL maps to that
# directory): .htaccess hands "api/..." to this script and latchd routes
# on PATH_INFO.  For the pages' cookies, set [server] base_path to the
# API's URL path (/~alice/auth/api), and point [mail] invite_url and
# reset_url at https://host/~alice/auth/register.html and reset.html.
#
# mod_fcgid starts this script itself with the listen socket on fd 0 and
# runs as many copies as it likes; with [server] workers = 1 each latchd
# serves that socket in its own process (what mod_fcgid expects).  In
# latch.ini set:
#   [server] workers = 1
#   [mail]   run_mailer = false       and run the mailer from cron:
#            * * * * * $HOME/latch/bin/latch-mailer -c $HOME/latch/latch.ini --once
#
# latchd runs as the web server's user (or as you under suEXEC): that user
# must be able to read latch.ini, which latchd refuses if others can read
# it, if its group can write it, or if it belongs to neither root nor
# that user: under suEXEC your own file, chmod 0600; otherwise ask the
# host for a root-owned one, chmod 0640, group the web server's.
#
# LATCH_HOME may be set by the host (FcgidInitialEnv); by default it is
# the "latch" directory two levels above this script (~/latch for
# ~/public_html/auth/latch.fcgi).
here=$(cd "$(dirname "$0")" && pwd) || exit 1
: "${LATCH_HOME:=$here/../../latch}"
LATCH_CONFIG="$LATCH_HOME/latch.ini"
export LATCH_CONFIG
exec "$LATCH_HOME/bin/latchd"
