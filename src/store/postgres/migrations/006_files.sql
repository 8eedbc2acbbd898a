-- Uploaded files (SPEC §8). The bytes live in the file storage (data dir or S3) under
-- `<domain>/<id>` (and `<domain>/<id>.thumb`); this row is what we know of them.
-- Retention: a file no message carries is deleted by the sweep, 24 h after its upload if it
-- was never sent, or as soon as the last message that carried it is gone (retention, erasure).
CREATE TABLE files (
  domain_id       text NOT NULL REFERENCES domains(id),
  id              text NOT NULL,                 -- ≥128 random bits, base64url
  content_type    text NOT NULL,
  size            bigint NOT NULL,              -- bytes of the file as stored
  thumbnail_size  bigint NOT NULL DEFAULT 0,    -- bytes of its thumbnail (0: none); counts in the quota
  width           bigint,
  height          bigint,
  duration_ms     bigint,
  created_at      bigint NOT NULL,              -- unix ms
  attached_at     bigint,                       -- unix ms: first sent in a message
  PRIMARY KEY (domain_id, id)
);
CREATE INDEX files_unattached ON files (created_at) WHERE attached_at IS NULL;

-- The file a message of type 2-4 carries; NULL for the others.
ALTER TABLE messages ADD COLUMN file_id text;
CREATE INDEX messages_file ON messages (domain_id, file_id) WHERE file_id IS NOT NULL;
