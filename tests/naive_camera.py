"""Halide's camera_pipe run functionally with NumPy, counting every operation, load and store per stage.

An independent transcription of ``halide/Halide`` ``apps/camera_pipe/camera_pipe_generator.cpp`` (the
algorithm, not the schedule): each stage is computed over the region its consumers need (worked out here
by hand), on whole arrays; every primitive (``avg``, ``absd``, ``select``, ...) adds the number of
elements it works on to the current stage's counter, and a load adds its elements once per distinct
(buffer, plane, offset) the stage reads, as vectorized code loads a value once however often it uses it.
Inline stages recompute where Halide inlines them (``unsharp_y`` at x-1, x and x+1).

``run(raw, width, height)`` returns the output planes, the counters per stage, the elements each stage
computed and the input region read.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

MATRIX_3200 = np.array([[1.6697, -0.2693, -0.4004, -42.4346], [-0.3576, 1.0615, 1.5949, -37.1158],
                        [-0.2175, -1.8751, 6.9640, -26.6970]], dtype=np.float32)
MATRIX_7000 = np.array([[2.2997, -0.4478, 0.1706, -39.0923], [-0.3826, 1.5906, -0.2080, -25.4311],
                        [-0.0888, -0.7344, 2.2832, -20.0826]], dtype=np.float32)


class Plane:
    """A 2-D array whose element [0, 0] is at coordinates (x0, y0)."""

    def __init__(self, name: str, arr: np.ndarray, x0: int, y0: int) -> None:
        self.name, self.arr, self.x0, self.y0 = name, arr, x0, y0


class Counter:
    """Per stage: operations by kind, loads, stores and elements computed."""

    def __init__(self) -> None:
        self.ops: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.elements: dict[str, float] = defaultdict(float)
        self.stage = ""
        self.taps: set = set()
        self.domains: dict[str, tuple[int, int, int, int]] = {}

    def begin(self, stage: str) -> None:
        self.stage, self.taps = stage, set()

    def op(self, kind: str, arr, times: int = 1):
        self.ops[self.stage][kind] += np.size(arr) * times
        return arr

    def load(self, p: Plane, dx: int, dy: int, xs: tuple[int, int], ys: tuple[int, int], step: int = 1,
             sx: int = 0, sy: int = 0) -> np.ndarray:
        """``p`` at (x * step + sx + dx, y * step + sy + dy) for x in [xs], y in [ys] (inclusive)."""
        x_lo, y_lo = xs[0] * step + sx + dx - p.x0, ys[0] * step + sy + dy - p.y0
        n_x, n_y = xs[1] - xs[0] + 1, ys[1] - ys[0] + 1
        assert x_lo >= 0 and y_lo >= 0, (p.name, dx, dy)
        out = p.arr[y_lo:y_lo + step * (n_y - 1) + 1:step, x_lo:x_lo + step * (n_x - 1) + 1:step]
        assert out.shape == (n_y, n_x), (p.name, out.shape, (n_y, n_x))
        key = (p.name, step, sx, sy, dx, dy)
        if key not in self.taps:
            self.taps.add(key)
            self.ops[self.stage]["load"] += out.size
        return out

    def store(self, arr) -> None:
        self.ops[self.stage]["store"] += np.size(arr)

    def computed(self, n: float) -> None:
        self.elements[self.stage] += n

    def domain(self, xs: tuple[int, int], ys: tuple[int, int]) -> None:
        """The region (inclusive) the current stage computes, in its own coordinates."""
        self.domains[self.stage] = (*xs, *ys)


def run(raw: np.ndarray, width: int, height: int, color_temp: float = 3700.0, gamma: float = 2.0,
        contrast: float = 50.0, sharpen_strength: float = 1.0, black: int = 25, white: int = 1023):
    """The pipeline on ``raw`` (uint16, covering x, y in [-6, width + 5] x [-6, height + 5]); width and height even."""
    assert width % 2 == 0 and height % 2 == 0
    c = Counter()
    inp = Plane("input", raw.astype(np.int32), -6, -6)
    den = _denoise(c, inp, (-4, width + 3), (-4, height + 3))
    planes = _deinterleave(c, den, (-2, width // 2 + 1), (-2, height // 2 + 1))
    g_r = _green(c, planes, "g_r", (-2, width // 2), (-1, height // 2 + 1))
    g_b = _green(c, planes, "g_b", (-1, width // 2 + 1), (-2, height // 2))
    rgb = _demosaic(c, planes, g_r, g_b, (-1, width // 2), (-1, height // 2))  # full res, from (-2, -2)
    rgb = [p[1:height + 3, 1:width + 3] for p in rgb]  # [-1, width] x [-1, height]
    c.domains["demosaic"] = (-1, width, -1, height)  # what its consumer uses (it computes whole 2x2 blocks)
    corrected = _color_correct(c, rgb, color_temp)
    lut = _curve(c, gamma, contrast, black, white)
    curved = _apply_curve(c, corrected, lut)
    out = _sharpen(c, curved, width, height, sharpen_strength)
    return out, c, (-6, width + 5, -6, height + 5)


def avg(c, a, b):
    return c.op("avg", (a + b + 1) // 2)


def absd(c, a, b):
    return c.op("absd", np.abs(a - b))


def select(c, cond, a, b):
    return c.op("select", np.where(cond, a, b))


def _denoise(c, inp, xs, ys):
    c.begin("denoised")
    c.domain(xs, ys)
    ld = lambda dx, dy: c.load(inp, dx, dy, xs, ys)  # noqa: E731
    centre, l_, r_, u_, d_ = ld(0, 0), ld(-2, 0), ld(2, 0), ld(0, -2), ld(0, 2)
    a = c.op("minmax", np.maximum(np.maximum(l_, r_), np.maximum(u_, d_)), times=3)  # max of four: three maxes
    out = c.op("minmax", np.minimum(centre, a))  # clamp(x, 0, a): max(., 0) of an unsigned value folds away
    c.store(out)
    c.computed(out.size)
    return Plane("denoised", out, xs[0], ys[0])


def _deinterleave(c, den, xs, ys):
    c.begin("deinterleaved")
    c.domain(xs, ys)
    planes = {}
    for name, (sx, sy) in (("g_gr", (0, 0)), ("r_r", (1, 0)), ("b_b", (0, 1)), ("g_gb", (1, 1))):
        p = c.op("shuffle", c.load(den, 0, 0, xs, ys, step=2, sx=sx, sy=sy))
        c.store(p)
        c.computed(p.size)
        planes[name] = Plane(name, p, xs[0], ys[0])
    return planes


def _green(c, planes, name, xs, ys):
    """g_r (green at red sites) or g_b (green at blue sites)."""
    c.begin(name)
    c.domain(xs, ys)
    gr, gb = planes["g_gr"], planes["g_gb"]
    if name == "g_r":
        v0, v1 = c.load(gb, 0, -1, xs, ys), c.load(gb, 0, 0, xs, ys)
        h0, h1 = c.load(gr, 1, 0, xs, ys), c.load(gr, 0, 0, xs, ys)
    else:
        v0, v1 = c.load(gr, 0, 1, xs, ys), c.load(gr, 0, 0, xs, ys)
        h0, h1 = c.load(gb, -1, 0, xs, ys), c.load(gb, 0, 0, xs, ys)
    gv, gvd, gh, ghd = avg(c, v0, v1), absd(c, v0, v1), avg(c, h0, h1), absd(c, h0, h1)
    out = select(c, c.op("compare", ghd < gvd), gh, gv)
    c.store(out)
    c.computed(out.size)
    return Plane(name, out, xs[0], ys[0])


def _demosaic(c, planes, g_r, g_b, xs, ys):
    """The full-resolution r, g, b planes (from (2 * xs[0], 2 * ys[0])), per 2x2 block of the Bayer pattern."""
    c.begin("demosaic")
    P = lambda p, dx, dy: c.load(p, dx, dy, xs, ys)  # noqa: E731
    r_r, b_b, gr, gb = planes["r_r"], planes["b_b"], planes["g_gr"], planes["g_gb"]

    def at_green(g_own, g_site, g_dx, g_dy, col, c_dx, c_dy):
        corr = c.op("add", P(g_own, 0, 0) - avg(c, P(g_site, 0, 0), P(g_site, g_dx, g_dy)))
        return c.op("add", corr + avg(c, P(col, c_dx, c_dy), P(col, 0, 0)))

    r_gr = at_green(gr, g_r, -1, 0, r_r, -1, 0)
    b_gr = at_green(gr, g_b, 0, -1, b_b, 0, -1)
    r_gb = at_green(gb, g_r, 0, 1, r_r, 0, 1)
    b_gb = at_green(gb, g_b, 1, 0, b_b, 1, 0)

    def diagonal(g_own, g_other, col, p, n):
        """Red at blue (or blue at red): the better of the two diagonals ``p`` and ``n``."""
        cand = []
        for (ax, ay), (bx, by) in (p, n):
            corr = c.op("add", P(g_own, 0, 0) - avg(c, P(g_other, ax, ay), P(g_other, bx, by)))
            value = c.op("add", corr + avg(c, P(col, ax, ay), P(col, bx, by)))
            cand.append((value, absd(c, P(col, ax, ay), P(col, bx, by))))
        return select(c, c.op("compare", cand[0][1] < cand[1][1]), cand[0][0], cand[1][0])

    r_b = diagonal(g_b, g_r, r_r, ((0, 0), (-1, 1)), ((-1, 0), (0, 1)))
    b_r = diagonal(g_r, g_b, b_b, ((0, 0), (1, -1)), ((1, 0), (0, -1)))
    sites = {"r": (r_gr, P(r_r, 0, 0), r_b, r_gb), "g": (P(gr, 0, 0), P(g_r, 0, 0), P(g_b, 0, 0), P(gb, 0, 0)),
             "b": (b_gr, b_r, P(b_b, 0, 0), b_gb)}
    out = []
    for tl, tr, bl, br in sites.values():  # interleave_y(interleave_x(tl, tr), interleave_x(bl, br))
        full = np.empty((2 * tl.shape[0], 2 * tl.shape[1]), np.int32)
        full[0::2, 0::2], full[0::2, 1::2], full[1::2, 0::2], full[1::2, 1::2] = tl, tr, bl, br
        c.op("shuffle", full)
        out.append(full)
    c.computed(3 * out[0].size)
    return out


def _color_correct(c, rgb, color_temp):
    c.begin("corrected")
    c.domain((-1, rgb[0].shape[1] - 2), (-1, rgb[0].shape[0] - 2))
    alpha = (1 / color_temp - 1 / 3200) / (1 / 7000 - 1 / 3200)
    m = np.trunc((MATRIX_3200 * alpha + MATRIX_7000 * (1 - alpha)) * 256).astype(np.int32)  # Q8.8
    ir, ig, ib = (c.op("cast", p.astype(np.int32)) for p in rgb)
    out = []
    for k in range(3):
        acc = m[k, 3] + c.op("mul", m[k, 0] * ir) + c.op("mul", m[k, 1] * ig) + c.op("mul", m[k, 2] * ib)
        c.op("add", acc, times=3)
        out.append(c.op("cast", c.op("shift", acc >> 8)))  # Halide's signed division rounds down
    c.computed(3 * out[0].size)
    return out


def _curve(c, gamma, contrast, black, white):
    c.begin("curve")
    x = np.arange(1024)
    xf = c.op("minmax", np.clip(c.op("mul", c.op("cast", c.op("add", x - black)) / (white - black)), 0, 1), times=2)
    g = c.op("call", xf ** (1 / gamma))
    b = 2 - 2 ** (contrast / 100)
    a = 2 - 2 * b
    one_minus = c.op("add", 1 - g)
    hi = c.op("add", 1 - c.op("add", c.op("mul", c.op("mul", a * one_minus) * one_minus) + c.op("mul", b * one_minus)))
    lo = c.op("add", c.op("mul", c.op("mul", a * g) * g) + c.op("mul", b * g))
    z = select(c, c.op("compare", g > 0.5), hi, lo)
    val = c.op("cast", c.op("minmax", np.clip(c.op("add", c.op("mul", z * 255) + 0.5), 0, 255), times=2).astype(np.int32))
    lut = select(c, c.op("compare", x <= black), 0, select(c, c.op("compare", x > white), 255, val))
    c.store(lut)
    c.computed(lut.size)
    return lut


def _apply_curve(c, planes, lut):
    c.begin("curved")
    c.domain((-1, planes[0].shape[1] - 2), (-1, planes[0].shape[0] - 2))
    out = []
    for p in planes:
        v = c.op("lut", lut[c.op("minmax", np.clip(p, 0, 1023), times=2)])
        c.store(v)
        c.computed(v.size)
        out.append(Plane(f"curved{len(out)}", v, -1, -1))
    return out


def _sharpen(c, curved, width, height, strength):
    c.begin("sharpen")
    s32 = min(255, int(strength * 32))
    xs, ys = (0, width - 1), (0, height - 1)
    c.domain(xs, ys)
    out = []
    for p in curved:
        ld = lambda dx, dy: c.load(p, dx, dy, xs, ys)  # noqa: E731
        uy = [avg(c, avg(c, ld(dx, -1), ld(dx, 1)), ld(dx, 0)) for dx in (-1, 0, 1)]  # unsharp_y inlined 3 times
        unsharp = avg(c, avg(c, uy[0], uy[2]), uy[1])
        mask = c.op("add", c.op("cast", ld(0, 0)) - c.op("cast", unsharp))
        v = c.op("cast", np.clip(c.op("add", ld(0, 0) + c.op("shift", c.op("mul", mask * s32) >> 5)), 0, 255))
        c.store(v)
        c.computed(v.size)
        out.append(v.astype(np.uint8))
    return out
