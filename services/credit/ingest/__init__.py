"""Transaction ingest: row validation, streaming parsers and the chunk writer."""
