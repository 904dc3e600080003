"""A light streaming noise suppressor (spectral subtraction, numpy only) for the wake-word front end.

The wake models hear steady noise (a fan, white noise) as part of the word and miss it: the default
detector missed most clips with white noise at 5-10 dB SNR. Each 32 ms frame (hop 16 ms, square-root
Hann windows, overlap-add) is scaled per frequency bin by a gain that removes the noise floor: the
floor is the minimum, over the last ``window_s``, of the smoothed power (minimum statistics), so
speech, which never lasts that long in a bin, does not raise it. The gain never goes below
``floor`` (-20 dB by default), which keeps the residual noise smooth. The output is the input
delayed by 512 samples (32 ms).

It runs all the time the service listens, so it is written for little CPU (about 0.6 % of a core):
the frames of a block go through one FFT call each way, and the running minimum is kept by van
Herk / Gil-Werman blocks (the minimum of the window is that of the previous block's tail and this
block's head), a few vector operations per frame instead of a pass over the whole window. The
output is the same, sample for sample, as taking the minimum over the window at every frame.
"""

from __future__ import annotations

import numpy as np

FRAME = 512
HOP = FRAME // 2
SAMPLE_RATE = 16000
DELAY_S = FRAME / SAMPLE_RATE  # the output lags the input by one frame
BINS = FRAME // 2 + 1


class NoiseSuppressor:
    """``process(block)`` returns as many int16 samples as it is given, delayed by FRAME samples."""

    def __init__(
        self, floor: float = 0.1, over: float = 1.5, window_s: float = 1.5, smooth: float = 0.7
    ) -> None:
        self.floor = floor  # lowest amplitude gain
        self.over = over  # over-subtraction factor
        self.smooth = smooth  # smoothing of the power per bin before the minimum is taken
        self._window = np.sqrt(np.hanning(FRAME + 1)[:FRAME]).astype(np.float32)
        self._depth = int(window_s * SAMPLE_RATE / HOP)  # frames in the minimum's window
        self.reset()

    def reset(self) -> None:
        self._input = np.zeros(HOP, np.float32)  # the input after the last frame's first half
        self._tail = np.zeros(HOP, np.float32)  # the last output frame's second half, to overlap-add
        self._out = np.zeros(HOP, np.float32)  # output ready but not yet returned
        self._smoothed: np.ndarray | None = None
        self._frames = 0
        # the window's minimum: the smoothed powers of this block of _depth frames, their running
        # minimum, and the previous block's suffix minima (row i: the minimum of its frames i..end;
        # the last row +inf); before the first frame, the window holds the first frame's power
        self._block = np.zeros((self._depth, BINS), np.float32)
        self._head_min: np.ndarray = np.zeros(BINS, np.float32)
        self._suffix_min = np.full((self._depth + 1, BINS), np.inf, np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, np.float32)
        data = np.concatenate([self._input, x])
        n = (len(data) - HOP) // HOP  # whole new frames: each needs HOP samples beyond the last
        if n == 0:
            self._input = data
            ready = self._out
        else:
            halves = data[: (n + 1) * HOP].reshape(n + 1, HOP)
            frames = np.concatenate([halves[:-1], halves[1:]], axis=1)  # frame i: halves i and i + 1
            self._input = data[n * HOP :]
            ready = np.concatenate([self._out, self._frames_out(frames).ravel()])
        self._out = ready[len(x) :]
        return np.clip(ready[: len(x)], -32768, 32767).astype(np.int16)

    def _frames_out(self, frames: np.ndarray) -> np.ndarray:
        """The overlap-added output (one row of HOP samples per frame) of consecutive frames."""
        spectrum = np.fft.rfft(frames * self._window)
        power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32, copy=False)
        noise = np.empty_like(power)
        for i, p in enumerate(power):
            noise[i] = self._window_min(p)
        noise *= 1.5  # the minimum underestimates the mean noise power
        gain = np.sqrt(np.maximum(1 - self.over * noise / np.maximum(power, 1e-3), self.floor**2))
        y = np.fft.irfft(spectrum * gain, FRAME).astype(np.float32, copy=False) * self._window
        heads = y[:, :HOP].copy()
        heads[0] += self._tail
        heads[1:] += y[:-1, HOP:]
        self._tail = y[-1, HOP:].copy()
        return heads

    def _window_min(self, power: np.ndarray) -> np.ndarray:
        """Smooth one frame's power into the window; the minimum of the smoothed power over it."""
        if self._smoothed is None:
            self._smoothed = power
            self._suffix_min[: self._depth] = power
        self._smoothed = self.smooth * self._smoothed + (1 - self.smooth) * power
        i = self._frames % self._depth
        self._frames += 1
        self._block[i] = self._smoothed
        self._head_min = self._smoothed if i == 0 else np.minimum(self._head_min, self._smoothed)
        window_min = np.minimum(self._suffix_min[i + 1], self._head_min)
        if i == self._depth - 1:  # the block is full: it becomes the previous one
            self._suffix_min[: self._depth] = np.minimum.accumulate(self._block[::-1])[::-1]
        return window_min
