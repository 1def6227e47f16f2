"""OCR adapter: reads the text in an image with RapidOCR (PyPI `rapidocr` 3.x on onnxruntime).

The engine is heavy (~290 MB of packages, ~440 MB of memory once loaded), so nothing here
imports `rapidocr` or `onnxruntime` until the first `read`: importing the workbench, starting the
app and computing the fast metrics stay as light as before. Its models ship inside the wheel;
nothing is downloaded. Images are shrunk to 1024 px on the long side first (faster, and more
accurate than full 2048 px frames for scene text).

When the package is missing, `read` raises `OcrUnavailable` with the command that installs it,
and the text metric is recorded as skipped rather than failed. The loader is injectable so that
path is tested without uninstalling anything.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from workbench.errors import WorkbenchError
from workbench.imaging.measure import OCR_SIDE

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install rapidocr onnxruntime (both are in requirements.txt)"


class OcrUnavailable(WorkbenchError, RuntimeError):
    """The OCR package (or its runtime) is not installed or cannot start."""


class OcrFailed(WorkbenchError, RuntimeError):
    """The engine started but could not read this image."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float


Engine = Callable[[Image.Image], Any]
Loader = Callable[[int], Engine]


def default_threads() -> int:
    """Leave a core for the app: OCR is background work."""
    return max(1, (os.cpu_count() or 2) - 1)


def load_rapidocr(threads: int) -> Engine:
    """Build a RapidOCR engine; the import happens here and nowhere else."""
    from rapidocr import RapidOCR  # heavy: onnxruntime, opencv

    return RapidOCR(params={
        "Global.log_level": "warning",
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })


class OcrEngine:
    """One lazily loaded engine per process; calls are serialised (RapidOCR keeps per-call
    state on the instance)."""

    def __init__(self, loader: Loader = load_rapidocr, *, max_side: int = OCR_SIDE,
                 threads: int | None = None) -> None:
        self._loader = loader
        self.max_side = max_side
        self.threads = threads or default_threads()
        self._engine: Engine | None = None
        self._unavailable: str | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def _get(self) -> Engine:
        if self._engine is not None:
            return self._engine
        if self._unavailable is not None:
            raise OcrUnavailable(self._unavailable)
        try:
            self._engine = self._loader(self.threads)
        except ImportError as exc:
            self._unavailable = (
                f"OCR is not installed ({exc.name or exc}); text accuracy was skipped. "
                f"Install it with: {INSTALL_HINT}."
            )
            raise OcrUnavailable(self._unavailable) from None
        except Exception as exc:  # a broken runtime install: same outcome, say what broke
            self._unavailable = (
                f"OCR could not start ({type(exc).__name__}: {exc}); text accuracy was "
                f"skipped. Reinstall with: {INSTALL_HINT}."
            )
            log.warning("OCR engine failed to load", exc_info=True)
            raise OcrUnavailable(self._unavailable) from None
        return self._engine

    def available(self) -> bool:
        """Loads the engine if needed; False (with the reason kept) when it cannot load."""
        with self._lock:
            try:
                self._get()
            except OcrUnavailable:
                return False
            return True

    @property
    def unavailable_reason(self) -> str | None:
        return self._unavailable

    def read(self, image: Image.Image) -> list[OcrLine]:
        """Text lines found in `image`, top to bottom, after shrinking it to `max_side`."""
        image = image.convert("RGB")
        if max(image.size) > self.max_side:
            image = image.copy()
            image.thumbnail((self.max_side, self.max_side), Image.Resampling.LANCZOS)
        with self._lock:
            engine = self._get()
            try:
                output = engine(image)
            except Exception as exc:
                raise OcrFailed(f"OCR failed on this image ({type(exc).__name__}: {exc})") from exc
        texts = getattr(output, "txts", None) or ()
        scores = getattr(output, "scores", None) or ()
        return [OcrLine(str(t), float(s)) for t, s in zip(texts, scores, strict=False)
                if str(t).strip()]


_shared: OcrEngine | None = None
_shared_lock = threading.Lock()


def shared_engine() -> OcrEngine:
    """The process-wide engine (created empty; it loads on first `read`)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = OcrEngine()
        return _shared
