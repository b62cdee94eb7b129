"""A short MP4 slideshow from still frames, encoded by ffmpeg (H.264, yuv420p, 25 fps,
faststart: what every network that takes video plays).

ffmpeg is a system program, not a Python package: where it is missing this says so
(FfmpegMissing, a 501 at the API) before anything is rendered or stored.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from PIL import Image

from persistence.errors import Unavailable
from services.workspace.media import ToolMissing

# Frames are rendered at 720p: sharp on a phone, and a few seconds to encode on one core.
VIDEO_SIZES: dict[str, tuple[int, int]] = {"vertical": (720, 1280), "landscape": (1280, 720)}
FPS = 25
ENCODE_TIMEOUT_SECONDS = 180


class FfmpegMissing(ToolMissing):
    default_code = "ffmpeg_missing"


class EncodingFailed(Unavailable):
    """ffmpeg failed or hung on frames we made ourselves: the server's fault, not the
    request's; nothing was stored."""

    default_code = "encoding_failed"


def ffmpeg_path() -> str:
    """Where ffmpeg is; FfmpegMissing (saying what to install) where it is not."""
    found = shutil.which("ffmpeg")
    if found is None:
        raise FfmpegMissing(
            "making videos needs ffmpeg, which is not installed on this server: install it "
            "(apt-get install ffmpeg, or your system's ffmpeg package) and try again; "
            "images can be generated without it"
        )
    return found


def _write_frames(frames: list[Image.Image], folder: Path) -> None:
    for i, frame in enumerate(frames):
        frame.convert("RGB").save(folder / f"f{i:03d}.png")


async def encode(frames: list[Image.Image], seconds_per_frame: float) -> bytes:
    """The frames (all of one size, even sides) shown ``seconds_per_frame`` each, as MP4."""
    ffmpeg = ffmpeg_path()
    with tempfile.TemporaryDirectory(prefix="chorus-slides-") as tmp:
        folder = Path(tmp)
        await asyncio.to_thread(_write_frames, frames, folder)
        out = folder / "out.mp4"
        proc = await asyncio.create_subprocess_exec(
            ffmpeg, "-v", "error", "-y",
            "-framerate", f"1/{seconds_per_frame:g}", "-i", str(folder / "f%03d.png"),
            "-vf", f"fps={FPS},format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage",
            "-movflags", "+faststart", str(out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            _, err = await asyncio.wait_for(proc.communicate(), ENCODE_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise EncodingFailed("ffmpeg took too long to encode the slideshow") from exc
        if proc.returncode != 0:
            raise EncodingFailed(f"ffmpeg failed: {err.decode(errors='replace')[:300]}")
        return await asyncio.to_thread(out.read_bytes)
