-- Mail held in the spool (hold/<id>) for the transaction that made it:
-- one row per held mail, written in that transaction, so the mail is
-- delivered if and only if the transaction committed (core/notify.h).
-- The id is the spool message id; the row goes once the mail is queued
-- (or found without its file, by notify_recover()).
CREATE TABLE IF NOT EXISTS mail_pending (
  id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_mail_pending_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
