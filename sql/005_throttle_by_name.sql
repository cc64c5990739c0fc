-- The sign-in throttle keys every sign-in name as it was typed ('n:' and
-- a hash, see core/limit.h), those of known accounts too, so that being
-- throttled tells nothing about which accounts exist.  Rows keyed by a
-- user id ('u:<id>') are never read again.
DELETE FROM login_throttle WHERE k LIKE 'u:%';
