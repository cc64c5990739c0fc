-- A user's sessions are few, so their index needs no more than user_id.
-- With revoked_at and expires_at in it, every refresh (which moves
-- expires_at) rewrote an entry of this index at a random place: at a
-- million sessions that was half of a refresh's InnoDB page reads.  (Run
-- again after a failure, this statement only rebuilds the same index.)
ALTER TABLE sessions DROP KEY ix_sessions_user, ADD KEY ix_sessions_user (user_id);
