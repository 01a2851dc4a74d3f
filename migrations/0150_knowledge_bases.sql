-- Knowledge bases: documents an admin uploads (or links, or pastes), cut into
-- chunks that full-text search and embeddings rank. The documents table is
-- also the indexing queue: a document is claimed with a lease, so a process
-- that dies mid-way leaves it to be resumed when the lease runs out.
CREATE TABLE knowledge_bases (
  id                   uuid PRIMARY KEY,
  name                 text NOT NULL UNIQUE,
  -- A PostgreSQL text search configuration name ('english', 'simple'...).
  language             text NOT NULL,
  chunk_max_chars      integer NOT NULL,
  chunk_overlap_chars  integer NOT NULL,
  embedding_provider_id uuid REFERENCES providers (id),
  embedding_model      text,
  embedding_dimensions integer,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL
);

CREATE TABLE knowledge_documents (
  id                 uuid PRIMARY KEY,
  knowledge_base_id  uuid NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
  name               text NOT NULL,
  source             text NOT NULL,
  format             text NOT NULL,
  url                text,
  -- The original bytes, kept so a document can be re-indexed (new chunking, new model).
  content            bytea NOT NULL,
  size_bytes         integer NOT NULL,
  state              text NOT NULL,
  error              text,
  attempts           integer NOT NULL DEFAULT 0,
  lease_until        timestamptz,
  chunks             integer NOT NULL DEFAULT 0,
  embedded_chunks    integer NOT NULL DEFAULT 0,
  embedding_tokens   bigint NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  indexed_at         timestamptz
);
CREATE INDEX knowledge_documents_base ON knowledge_documents (knowledge_base_id, created_at);
CREATE INDEX knowledge_documents_queue ON knowledge_documents (created_at)
  WHERE state IN ('pending', 'indexing');

CREATE TABLE knowledge_chunks (
  document_id        uuid NOT NULL REFERENCES knowledge_documents (id) ON DELETE CASCADE,
  position           integer NOT NULL,
  knowledge_base_id  uuid NOT NULL,
  -- The headings above the chunk, outermost first (a JSON array of strings).
  heading_path       jsonb NOT NULL,
  content            text NOT NULL,
  -- to_tsvector(<the base's language>, heading path + content), written with the chunk.
  tsv                tsvector NOT NULL,
  -- Unit-length vector; null until embedded (or when the base has no embedding model).
  embedding          real[],
  -- The signs of the embedding: a Hamming-distance scan picks candidates that
  -- the exact dot product then ranks (no pgvector needed).
  embedding_bits     bit varying,
  -- The same vector as little-endian float32 bytes: what the exact re-ranking reads
  -- (real[] to text costs the server more than the re-ranking itself).
  embedding_f32      bytea,
  PRIMARY KEY (document_id, position)
);
CREATE INDEX knowledge_chunks_tsv ON knowledge_chunks USING gin (tsv);
CREATE INDEX knowledge_chunks_base ON knowledge_chunks (knowledge_base_id);
