-- API keys: services authenticate as a role of one organization without
-- a person's password (core/apikey.h).  A key is "latch_" and the
-- base64url of its row id and 32 random bytes; only the SHA-256 of the
-- whole key is stored, found by the id and compared in constant time.
-- created_by is the admin who made it (NULL: made by latchctl, or its
-- creator was deleted, which revokes it first).  Revoked keys stay, so
-- that a use after the revocation is recognised and audited
-- (refused_at throttles those entries).
CREATE TABLE IF NOT EXISTS api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  org_id BIGINT UNSIGNED NOT NULL,
  name VARCHAR(128) NOT NULL,
  role VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  key_hash BINARY(32) NOT NULL,
  created_by BIGINT UNSIGNED NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NULL,
  last_used_at BIGINT NULL,
  revoked_at BIGINT NULL,
  refused_at BIGINT NULL,
  PRIMARY KEY (id),
  KEY ix_api_keys_org (org_id, revoked_at),
  KEY ix_api_keys_creator (created_by, revoked_at),
  CONSTRAINT fk_api_keys_org FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE,
  CONSTRAINT fk_api_keys_creator FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The API key an audited action was made with (the actor is then none).
ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS api_key_id BIGINT UNSIGNED NULL AFTER actor_id;
