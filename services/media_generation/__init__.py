"""Generated media: images and short videos for a post, made into the media library.

``compose`` renders a branded graphic with Pillow (no model: the embedded default);
``openai_images`` asks OpenAI's Images API when an image model is configured; ``slideshow``
makes a short MP4 of a post's images and text with ffmpeg; ``generate`` ties them to posts,
the organization's brand and the library (the same documents, storage and limits as
uploads).
"""
