"""Images from OpenAI's Images API (``images.generate``), through the official ``openai``
client, so any server that speaks its wire format (the API itself, a proxy, the tests'
local fake) answers it.

The API makes a few fixed sizes; the caller crops and scales the answer to each network's
shape (``generate``). Images come back as base64 (``b64_json``) so nothing is fetched from a
URL that expires.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from persistence.errors import ChorusError

# The sizes each model makes (landscape, portrait, square), as documented (2025).
MODEL_SIZES: dict[str, dict[str, str]] = {
    "gpt-image-1": {"landscape": "1536x1024", "portrait": "1024x1536", "square": "1024x1024"},
    "dall-e-3": {"landscape": "1792x1024", "portrait": "1024x1792", "square": "1024x1024"},
    "dall-e-2": {"landscape": "1024x1024", "portrait": "1024x1024", "square": "1024x1024"},
}
# What an image costs where the answer carries no token usage (DALL·E), USD, standard quality.
PRICE_PER_IMAGE = {"dall-e-3": 0.04, "dall-e-2": 0.02}


class ImageModelFailed(ChorusError):
    """The image model refused or failed; nothing was stored."""

    default_code = "image_model_failed"


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    tokens: int
    cost_usd: float | None
    revised_prompt: str | None = None


def _orientation(width: int, height: int) -> str:
    if width > height:
        return "landscape"
    return "portrait" if height > width else "square"


class OpenAIImages:
    """One configured image model (``openai:<model>``)."""

    def __init__(self, model: str, api_key: str, base_url: str | None = None) -> None:
        self.model = model
        self._api_key = api_key
        self._base_url = base_url
        self._client: Any = None

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    def _openai(self) -> Any:
        if self._client is None:
            from openai import AsyncOpenAI  # the client is heavy; only load when used

            self._client = AsyncOpenAI(
                api_key=self._api_key, base_url=self._base_url, max_retries=1, timeout=120
            )
        return self._client

    async def generate(self, prompt: str, width: int, height: int) -> GeneratedImage:
        """One image for ``prompt`` in the model's size closest to ``width`` x ``height``."""
        import openai

        sizes = MODEL_SIZES.get(self.model, MODEL_SIZES["gpt-image-1"])
        args: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "n": 1,
            "size": sizes[_orientation(width, height)],
        }
        if self.model.startswith("dall-e"):
            args["response_format"] = "b64_json"  # gpt-image-1 always answers base64
        try:
            answer = await self._openai().images.generate(**args)
        except openai.APIStatusError as exc:
            raise ImageModelFailed(
                f"the image model refused the request ({exc.status_code}): {str(exc.message)[:300]}"
            ) from exc
        except openai.APIError as exc:
            raise ImageModelFailed(f"the image model could not be reached: {exc}") from exc
        if not answer.data or not answer.data[0].b64_json:
            raise ImageModelFailed("the image model answered without an image")
        item = answer.data[0]
        usage = getattr(answer, "usage", None)
        tokens = int(getattr(usage, "total_tokens", 0) or 0)
        cost = None if tokens else PRICE_PER_IMAGE.get(self.model, 0.04)
        return GeneratedImage(
            base64.b64decode(item.b64_json), tokens, cost, getattr(item, "revised_prompt", None)
        )
