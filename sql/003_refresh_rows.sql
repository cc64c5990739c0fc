-- Refresh tokens that name their row.  A token is the base64url of its
-- session id, its generation (1 for the first of a session, one more on
-- each rotation) and 32 random bytes, so that finding and rotating it are
-- primary-key operations in one place of the table, the session's own
-- rows.  (Looking a token up by its hash needed a unique index on a random
-- value: one more random place read and written per refresh.)  The stored
-- hash is the SHA-256 of the whole token, compared in constant time after
-- the lookup.  A token is rotated when its successor (gen + 1) exists, at
-- the successor's created_at; rows stay until the session goes, for reuse
-- detection.
--
-- refresh_tokens (001) keeps the tokens issued before this migration:
-- latch still accepts them (by hash), rotates them into this table and
-- never adds to that one, which empties as those sessions go.
CREATE TABLE IF NOT EXISTS session_refresh (
  session_id BIGINT UNSIGNED NOT NULL,
  gen INT UNSIGNED NOT NULL,
  token_hash BINARY(32) NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (session_id, gen),
  CONSTRAINT fk_session_refresh_session FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
