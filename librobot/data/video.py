"""Video files of a LeRobot v3 dataset: PyAV encode (AV1 via libsvtav1, else H.264) and decode.

Several episodes share one mp4; an episode is located by its from/to timestamps in that file.
Frames are stamped ``pts = frame number`` in a ``1/fps`` time base so timestamps are exact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np


def pick_codec(preferred: str = "auto") -> str:
    """``auto``: AV1 (libsvtav1, what LeRobot writes) when this PyAV build has it, else H.264."""
    import av

    if preferred != "auto":
        if preferred not in av.codecs_available:
            raise ValueError(f"video codec {preferred!r} is not in this PyAV build; available: libsvtav1, libx264, ...")
        return preferred
    for name in ("libsvtav1", "libx264"):
        if name in av.codecs_available:
            return name
    raise RuntimeError("PyAV has neither libsvtav1 nor libx264: cannot encode videos")


# yuv420p: LeRobot's default, a quarter of the colour resolution; yuv444p: full colour (libx264 only),
# which a target a few pixels wide needs to keep its colour (docs/data.md, "Video quality")
PIX_FMTS = ("yuv420p", "yuv444p")
FULL_COLOUR_CODECS = ("libx264",)


def check_pix_fmt(codec: str, pix_fmt: str) -> None:
    """Refuse a pixel format the (picked) codec cannot write, by name."""
    if pix_fmt not in PIX_FMTS:
        raise ValueError(f"video pix_fmt {pix_fmt!r}: expected one of {', '.join(PIX_FMTS)}")
    if pix_fmt != "yuv420p" and codec not in FULL_COLOUR_CODECS:
        raise ValueError(f"video pix_fmt {pix_fmt!r} needs codec libx264; {codec} encodes yuv420p only")


CODEC_LABEL = {"libsvtav1": "av1", "libaom-av1": "av1", "libx264": "h264", "h264": "h264"}


class VideoEncoder:
    """Appends frames to one mp4; ``frames_written`` and ``bytes_written`` drive file rollover."""

    def __init__(
        self,
        path: Path,
        fps: float,
        height: int,
        width: int,
        codec: str = "auto",
        crf: int = 30,
        gop: int = 12,
        pix_fmt: str = "yuv420p",
    ):
        import av

        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole config per file otherwise
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.codec = pick_codec(codec)
        check_pix_fmt(self.codec, pix_fmt)
        self.fps = fps
        self._container = av.open(str(self.path), mode="w")
        rate = Fraction(fps).limit_denominator(1000)
        self._stream = self._container.add_stream(self.codec, rate=rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = pix_fmt
        self._stream.time_base = 1 / rate
        self._stream.codec_context.time_base = 1 / rate
        options = {"crf": str(crf), "g": str(gop)}
        if self.codec == "libsvtav1":
            options["preset"] = "10"  # fast on a couple of CPU cores; LeRobot's default is slower
            options["svtav1-params"] = "lp=1"
        else:
            options["preset"] = "veryfast"
        self._stream.options = options
        self._stream.thread_count = 1
        self.frames_written = 0
        self.bytes_written = 0

    def write(self, frames: np.ndarray) -> None:
        import av

        for img in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = self.frames_written
            self.frames_written += 1
            self._mux(self._stream.encode(frame))

    def _mux(self, packets) -> None:
        for packet in packets:
            self.bytes_written += packet.size
            self._container.mux(packet)

    def close(self) -> None:
        self._mux(self._stream.encode(None))
        self._container.close()


class VideoDecoder:
    """Reads frames by timestamp range from one mp4, keeping the file open between calls.

    Decoding is sequential from the nearest keyframe before ``start``: reading a whole episode
    at once costs one seek, which is why the dataset caches episodes instead of single frames.
    """

    def __init__(self, path: str | os.PathLike):
        import av

        self.path = str(path)
        self._container = av.open(self.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._stream.thread_count = 1

    def read(
        self, start: float, end: float, fps: float, camera: str | None = None, episode: int | None = None
    ) -> np.ndarray:
        """Frames with ``start <= t < end`` (seconds), as uint8 [T, H, W, 3].

        ``camera`` and ``episode`` only name the frames in errors: a frame that does not decode raises
        ``VideoDecodeError`` with the file, camera, episode and frame (of the episode and of the file).
        """
        import av

        half = 0.5 / fps
        tb = self._stream.time_base
        where = _where(self.path, camera, episode)
        first = int(round(start * fps))  # file frame number of the episode's frame 0

        def frame_label(pts: int | None) -> str:
            if pts is None:
                return "a frame at an unknown position"
            number = int(round(float(pts * tb) * fps))
            inside = f"frame {number - first} of the episode, " if number >= first else ""
            return f"{inside}frame {number} of the file (t={float(pts * tb):.3f} s)"

        frames = []
        packet = None
        try:
            self._container.seek(max(0, int(start / tb)), stream=self._stream, backward=True, any_frame=False)
            for packet in self._container.demux(self._stream):
                done = False
                for frame in packet.decode():
                    t = float(frame.pts * tb) if frame.pts is not None else float(frame.time)
                    if t < start - half:
                        continue
                    if t >= end - half:
                        done = True
                        break
                    frames.append(frame.to_ndarray(format="rgb24"))
                if done:
                    break
        except av.error.FFmpegError as err:
            pts = packet.pts if packet is not None else int(start / tb)
            raise VideoDecodeError(f"{where}: cannot decode {frame_label(pts)}: {err}") from err
        expected = int(round((end - start) * fps))
        if len(frames) != expected:
            raise VideoDecodeError(
                f"{where}: expected {expected} frames in [{start:.4f}, {end:.4f}) s at {fps} fps, decoded "
                f"{len(frames)}: frames {len(frames)} onwards of the episode are missing or do not decode"
            )
        return np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8)

    def read_all(self) -> np.ndarray:
        self._container.seek(0, stream=self._stream)
        return np.stack([f.to_ndarray(format="rgb24") for f in self._container.decode(self._stream)])

    def close(self) -> None:
        self._container.close()


class VideoDecodeError(ValueError):
    """A video that cannot be read as the dataset says; the message names file, camera, episode and frame."""


def _where(path: str, camera: str | None, episode: int | None) -> str:
    parts = [path] + ([f"camera {camera}"] if camera else []) + ([f"episode {episode}"] if episode is not None else [])
    return ", ".join(parts)


@dataclass
class VideoScan:
    """What a full decode of one video file found, by file frame number (``round(t * fps)``)."""

    decoded: set[int] = field(default_factory=set)
    errors: dict[int | None, str] = field(default_factory=dict)  # frame number (None: unknown) -> decoder error
    fatal: str | None = None  # the file could not be opened, or demuxing stopped early


def scan_video(path: str | os.PathLike, fps: float) -> VideoScan:
    """Decode every frame of ``path`` (no colour conversion) and record which decode and which fail.

    A decoder error does not stop the scan: the next packets are tried, so one report lists every
    damaged stretch. About 1 s for the 5,000 128x128 AV1 frames of the default dataset.
    """
    import av

    scan = VideoScan()
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as err:
        scan.fatal = f"cannot open: {err}"
        return scan
    with container:
        if not container.streams.video:
            scan.fatal = "has no video stream"
            return scan
        stream = container.streams.video[0]
        stream.thread_count = 1
        tb = stream.time_base

        def number(pts: int | None) -> int | None:
            return None if pts is None or tb is None else int(round(float(pts * tb) * fps))

        try:
            for packet in container.demux(stream):
                try:
                    for frame in packet.decode():
                        scan.decoded.add(number(frame.pts))
                except av.error.FFmpegError as err:
                    scan.errors.setdefault(number(packet.pts), str(err))
        except av.error.FFmpegError as err:
            scan.fatal = f"demuxing stopped after {len(scan.decoded)} frames: {err}"
    return scan


def video_info(path: str | os.PathLike) -> dict:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return {
            "codec": stream.codec_context.name,
            "height": stream.codec_context.height,
            "width": stream.codec_context.width,
            "pix_fmt": stream.codec_context.pix_fmt,
            "frames": stream.frames,
            "fps": float(stream.average_rate) if stream.average_rate else None,
        }
