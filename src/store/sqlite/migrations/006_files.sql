-- Uploaded files (SPEC §8). The bytes live in the file storage (data dir or S3) under
-- `<domain>/<id>` (and `<domain>/<id>.thumb`); this row is what we know of them.
-- Retention: a file no message carries is deleted by the sweep, 24 h after its upload if it
-- was never sent, or as soon as the last message that carried it is gone (retention, erasure).
CREATE TABLE files (
  domain_id       TEXT NOT NULL REFERENCES domains(id),
  id              TEXT NOT NULL,                 -- ≥128 random bits, base64url
  content_type    TEXT NOT NULL,
  size            INTEGER NOT NULL,              -- bytes of the file as stored
  thumbnail_size  INTEGER NOT NULL DEFAULT 0,    -- bytes of its thumbnail (0: none); counts in the quota
  width           INTEGER,
  height          INTEGER,
  duration_ms     INTEGER,
  created_at      INTEGER NOT NULL,              -- unix ms
  attached_at     INTEGER,                       -- unix ms: first sent in a message
  PRIMARY KEY (domain_id, id)
) WITHOUT ROWID;
CREATE INDEX files_unattached ON files (created_at) WHERE attached_at IS NULL;

-- The file a message of type 2-4 carries; NULL for the others.
ALTER TABLE messages ADD COLUMN file_id TEXT;
CREATE INDEX messages_file ON messages (domain_id, file_id) WHERE file_id IS NOT NULL;
