-- Two-factor sign-in (TOTP, RFC 6238).
--
-- A user's TOTP secret and recovery key, sealed with AES-256-GCM under
-- [security] mfa_key (core/totp.h): the database alone yields no second
-- factor.  enabled_at is NULL while the enrolment waits for its first
-- code; last_step is the last time step accepted, so that no code is
-- accepted twice.
CREATE TABLE IF NOT EXISTS totp (
  user_id BIGINT UNSIGNED NOT NULL,
  sealed VARBINARY(255) NOT NULL,
  created_at BIGINT NOT NULL,
  enabled_at BIGINT NULL,
  last_step BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id),
  CONSTRAINT fk_totp_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Single-use recovery codes: only their HMAC under the user's sealed
-- recovery key is kept.
CREATE TABLE IF NOT EXISTS recovery_codes (
  user_id BIGINT UNSIGNED NOT NULL,
  code_hash BINARY(32) NOT NULL,
  used_at BIGINT NULL,
  PRIMARY KEY (user_id, code_hash),
  CONSTRAINT fk_recovery_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A sign-in whose password was right and that waits for its second
-- factor (POST /auth/mfa): only the SHA-256 of its mfa_token is kept.
CREATE TABLE IF NOT EXISTS mfa_challenges (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id BIGINT UNSIGNED NOT NULL,
  token_hash BINARY(32) NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  remember TINYINT(1) NOT NULL DEFAULT 0,
  cookie TINYINT(1) NOT NULL DEFAULT 0,
  used_at BIGINT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_mfa_challenges_token (token_hash),
  KEY ix_mfa_challenges_user (user_id),
  CONSTRAINT fk_mfa_challenges_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- How a session was signed in (RFC 8176 amr: 1 pwd, 2 otp), and whether
-- it may only enrol a second factor (an organization's require_mfa).
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS amr TINYINT UNSIGNED NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS restricted TINYINT(1) NOT NULL DEFAULT 0;

-- Who in an organization must sign in with a second factor: 'none',
-- 'admins' (admins and superadmins) or 'all'.
ALTER TABLE organizations ADD COLUMN IF NOT EXISTS require_mfa VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'none';
