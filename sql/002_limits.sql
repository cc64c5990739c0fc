-- Abuse limits kept in the database, so they hold across workers and hosts.

-- Per-IP request budget: one row per (key, minute), bumped with a single
-- INSERT ... ON DUPLICATE KEY UPDATE.  Old windows are purged now and then.
CREATE TABLE IF NOT EXISTS rate_counters (
  k VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  win BIGINT NOT NULL,
  n INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (k, win),
  KEY ix_rate_win (win)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Per-account sign-in throttle: k is 'u:<user id>' or 'n:<hash of an
-- unknown name>'.  A successful sign-in deletes the row.
CREATE TABLE IF NOT EXISTS login_throttle (
  k VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  failures INT UNSIGNED NOT NULL DEFAULT 0,
  last_failure BIGINT NOT NULL DEFAULT 0,
  locked_until BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (k)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Mail limit: when the last mail of a kind went to an address (k is
-- 'r:' for resets or 'i:' for invitations, and a hash of the address).
CREATE TABLE IF NOT EXISTS mail_sent (
  k VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (k)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
