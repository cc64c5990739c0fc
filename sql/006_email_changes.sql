-- A change of email address waiting for its confirmation (PATCH
-- /user/profile, then POST /user/email/confirm): at most one per user, a
-- newer request replaces it.  Only the SHA-256 of the token mailed to the
-- new address is stored; the row goes when the change is confirmed, when
-- the address is changed otherwise, and with the user.
CREATE TABLE IF NOT EXISTS email_changes (
  user_id BIGINT UNSIGNED NOT NULL,
  email VARCHAR(254) NOT NULL,
  email_norm VARCHAR(254) NOT NULL,
  token_hash BINARY(32) NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (user_id),
  UNIQUE KEY uq_email_changes_token (token_hash),
  CONSTRAINT fk_email_changes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
