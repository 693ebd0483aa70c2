"""Embedders: the deterministic HashEmbedder, weight fingerprints and the bundled model."""

from pathlib import Path

import numpy as np
import pytest

from qa.errors import ModelError
from qa.index.embedder import SentenceTransformerEmbedder, bundled_model_path, knows_word, weights_fingerprint
from qa.testing import HashEmbedder


def test_hash_embedder_vectors_are_normalized_and_deterministic():
    e = HashEmbedder(dimension=64)
    texts = ["Lighthouse keepers trim wicks.", "Bees dance to show food.", "Lighthouse keepers trim wicks."]
    v = e.encode(texts)
    assert v.shape == (3, 64) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.array_equal(v[0], v[2])
    assert np.array_equal(v, HashEmbedder(dimension=64).encode(texts))
    assert (e.calls, e.texts_encoded) == (1, 3)


def test_hash_embedder_is_lexical():
    e = HashEmbedder()
    q, near, far = e.encode(["keeper trims the wick", "the keeper trimmed wicks daily", "bees make honey"])
    assert q @ near > q @ far


def test_hash_embedder_text_without_terms_is_a_zero_vector():
    v = HashEmbedder(dimension=8).encode(["the of and", ""])
    assert not v.any()
    assert HashEmbedder().encode([]).shape == (0, 256)


def test_weights_fingerprint_follows_the_weight_bytes(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights-1")
    (tmp_path / "config.json").write_text("{}")
    first = weights_fingerprint(str(tmp_path))
    assert len(first) == 16
    (tmp_path / "config.json").write_text('{"changed": true}')
    assert weights_fingerprint(str(tmp_path)) == first
    (tmp_path / "model.safetensors").write_bytes(b"weights-2")
    assert weights_fingerprint(str(tmp_path)) != first


def test_weights_fingerprint_without_weights_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no model weights"):
        weights_fingerprint(str(tmp_path))


def test_a_folder_that_is_not_a_model_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not a sentence-transformers model folder"):
        SentenceTransformerEmbedder(str(tmp_path))


def test_the_tokenizer_tells_whole_words_from_pieces():
    assert knows_word(None, "pills") and not knows_word(None, "botox")  # "bot", "##ox"


def test_bundled_model_is_installed():
    path = Path(bundled_model_path())
    assert (path / "modules.json").is_file() or (path / "config.json").is_file()


@pytest.mark.slow
def test_real_model_embeds_offline_with_meaning():
    e = SentenceTransformerEmbedder()
    assert e.name == "all-MiniLM-L6-v2" and e.dimension == 384
    assert e.fingerprint == weights_fingerprint(bundled_model_path())
    q, near, far = e.encode(["What makes the face twitch?", "Causes of facial muscle spasms", "Recipe for bread"])
    assert np.allclose(np.linalg.norm([q, near, far], axis=1), 1.0, atol=1e-4)
    assert q @ near > q @ far
    assert e.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_one_question_takes_the_direct_path_and_gets_encodes_vector():
    e = SentenceTransformerEmbedder()
    assert e.direct  # the bundled model has no prompt or truncation: the direct path is on
    long = "twitching of the eyelid and the corner of the mouth " * 60  # past the 256-token window
    for text in ["What causes it?", "Qu'est-ce que le spasme hémifacial ? 面肌痉挛", long, " "]:
        reference = e.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        got = e.encode([text])
        assert got.dtype == np.float32 and got.shape == (1, 384)
        assert np.allclose(got, reference, atol=1e-5)
    # Questions that waited together are encoded in one padded pass: each gets the vector it gets alone.
    texts = ["What causes it?", long, "Is hemifacial spasm dangerous for the eye?", " "]
    reference = e.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=1)
    assert np.allclose(e.encode(texts), reference, atol=1e-5)
    e.model.default_prompt_name = "query"  # a model that prompts its queries: only encode() knows how
    assert not e._forward_matches_encode()
