-- Run-time settings (core/settings.h): values a superadmin set over
-- HTTP (PATCH /settings), which win over the config's unless the config
-- pins them ([security] pinned_settings).  A setting without a row has
-- the config's value.  Every worker reads this table at most once a
-- second.
CREATE TABLE IF NOT EXISTS settings (
  name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  value VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
