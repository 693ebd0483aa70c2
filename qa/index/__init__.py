"""Index: the on-disk format, the staged build, dense and lexical indexes, the embedder."""
