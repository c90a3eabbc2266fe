"""The Example 1 distance lab (WGAN paper, section 2): why the W-estimate is a meaningful loss.

``Z ~ U[0, 1]``, ``P_0`` is the law of ``(0, Z)`` and ``P_theta`` the law of ``(theta, Z)``: two
parallel segments. Their distances have closed forms (docs/algorithm.md, "Example 1: parallel lines"):

- ``W(P_0, P_theta) = |theta|``: continuous in theta, with a useful gradient everywhere;
- ``JS = log 2``, ``KL = +inf``, ``TV = 1`` for every ``theta != 0`` (all 0 at ``theta = 0``):
  flat, so a generator trained through them gets no gradient towards ``theta = 0``.

:func:`estimate` trains a critic (the "generator", theta, stays fixed) between ``P_0`` (the
real side) and ``P_theta`` (the generated side) with one of the engine's objectives and reports
what it measures beside the closed forms:

- ``wgan-gp`` / ``wgan-clip``: ``w_estimate = mean f(P_0) - mean f(P_theta)``. With the
  gradient penalty the critic is close to 1-Lipschitz, so the estimate lies on the ``|theta|``
  line; with clipping the critic is K-Lipschitz for an unknown K set by ``c`` and the
  architecture, so the estimate is proportional to ``|theta|`` (the paper's "up to a constant").
- ``gan``: the discriminator's value gives the Jensen-Shannon estimate
  ``js_estimate = (V + log 4) / 2`` with ``V = mean log D(P_0) + mean log(1 - D(P_theta))``
  (Goodfellow et al., Theorem 1), which saturates at ``log 2`` as soon as the segments are apart.

``grad_theta`` is the derivative of the estimate with respect to theta with the trained critic
held fixed: what a generator standing at theta would be told. It is about ``sign(theta)`` for the
W estimate (GP) and about 0 for the saturated JS estimate: the vanishing gradient of section 2.

The critic is the engine's toy MLP critic (ReLU, no normalisation), smaller than the training
presets' (``hidden`` units) because the data are two line segments.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F

from .models.mlp import MLPCritic
from .objective_traits import traits
from .objectives import get_objective
from .objectives.wgan_clip import clip_parameters

#: The objectives the lab trains a critic with (a subset of engine.config.OBJECTIVES).
LAB_OBJECTIVES = ("wgan-gp", "wgan-clip", "gan")
# the columns of a results table (``wgan-distance --out``, the studio's CSV export)
CSV_KEYS = ("theta", "objective", "estimate", "w_estimate", "js_estimate", "grad_theta", "w_exact", "js", "kl", "tv")
LOG2 = math.log(2.0)


class DistanceStopped(Exception):
    """Raised inside :func:`estimate` / :func:`sweep` when ``should_stop()`` turns true."""


@dataclass
class LabSettings:
    """How the critic of the lab is trained. Defaults: the papers' settings (Adam betas (0.5, 0.9)
    as in the toy reference; clipping: RMSProp 5e-5, c = 0.01) with two deliberate deviations:

    - learning rate 1e-3 for GP and GAN: a single critic on a fixed pair of distributions
      converges in a few hundred steps with it;
    - lambda = 30, not the paper's 10. The penalty trades slope for W: a converged critic that is
      linear with slope s across the gap minimises ``-s |theta| + lambda (s - 1)^2``, so
      ``s = 1 + |theta| / (2 lambda)`` and the estimate is ``|theta| (1 + |theta| / (2 lambda))``.
      With lambda = 10 that is +10% at theta = 2; with 30 it is +3.3% (docs/figures.md, "Example 1").
      Pass ``gp_lambda=10`` (``--gp-lambda 10``) to see the paper's bias.
    """

    objective: str = "wgan-gp"
    steps: int = 600
    batch: int = 256
    hidden: int = 128
    layers: int = 3
    lr: float | None = None          # None: 1e-3 (wgan-gp, gan) or 5e-5 (wgan-clip, the paper's)
    gp_lambda: float = 30.0          # see below: the penalty biases the estimate by |theta| / (2 lambda)
    clip_value: float = 0.01
    eval_points: int = 8192
    seed: int = 0

    def __post_init__(self):
        if self.objective not in LAB_OBJECTIVES:
            raise ValueError(f"objective {self.objective!r}: allowed are {', '.join(LAB_OBJECTIVES)}")
        for name in ("steps", "batch", "hidden", "layers", "eval_points"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} = {getattr(self, name)!r}: must be a positive integer")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr = {self.lr!r}: must be a positive number")
        if not (self.clip_value > 0):
            raise ValueError(f"clip_value = {self.clip_value!r}: must be positive")
        if not (self.gp_lambda >= 0):
            raise ValueError(f"gp_lambda = {self.gp_lambda!r}: must be >= 0")

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return float(self.lr)
        return 5e-5 if traits(self.objective).clips_weights else 1e-3


def closed_forms(theta: float) -> dict[str, float]:
    """The exact distances between ``P_0`` and ``P_theta`` (JSON-safe: KL = inf is a float)."""
    apart = theta != 0
    return {"w_exact": abs(float(theta)), "js": LOG2 if apart else 0.0,
            "kl": math.inf if apart else 0.0, "tv": 1.0 if apart else 0.0}


def segment(theta: float, n: int, generator: torch.Generator, device) -> torch.Tensor:
    """``n`` points of ``P_theta``: ``(theta, Z)`` with ``Z ~ U[0, 1]``."""
    z = torch.rand(n, generator=generator, device=device)
    return torch.stack((torch.full_like(z, float(theta)), z), dim=1)


def _make_optimizer(params, s: LabSettings):
    if traits(s.objective).clips_weights:
        return torch.optim.RMSprop(params, lr=s.learning_rate)
    return torch.optim.Adam(params, lr=s.learning_rate, betas=(0.5, 0.9))


def _estimates(critic, objective: str, theta: float, n: int, gen: torch.Generator, device) -> dict[str, float]:
    """Estimate and its derivative in theta on fresh points, the critic held fixed."""
    real = segment(0.0, n, gen, device)
    th = torch.tensor(float(theta), device=device, requires_grad=True)
    z = torch.rand(n, generator=gen, device=device)
    fake = torch.stack((th.expand(n), z), dim=1)
    f_real, f_fake = critic(real), critic(fake)
    w = f_real.mean() - f_fake.mean()
    out = {"w_estimate": float(w.detach())}
    if not traits(objective).estimates_w1:  # the GAN: its critic estimates JS
        # V = mean log D(x) + mean log(1 - D(x~)), written with logsigmoid (stable).
        v = F.logsigmoid(f_real).mean() + F.logsigmoid(-f_fake).mean()
        js = (v + math.log(4.0)) / 2
        (g,) = torch.autograd.grad(js, th)
        out.update(estimate=float(js.detach()), js_estimate=float(js.detach()), grad_theta=float(g))
    else:
        (g,) = torch.autograd.grad(w, th)
        out.update(estimate=out["w_estimate"], grad_theta=float(g))
    return out


@contextlib.contextmanager
def _cpu_threads(device: torch.device, settings: LabSettings):
    """One intra-op thread for the lab's small critics on the CPU: their matmuls are too small to
    split, and with the default team the threads spin at barriers (docs/figures.md, "Example 1")."""
    small = settings.hidden * max(settings.batch, 1) <= 256 * 256
    if device.type != "cpu" or not small or torch.get_num_threads() == 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def estimate(theta: float, settings: LabSettings | None = None, *, device=None,
             progress: Callable[[int, int, float], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> dict:
    """Train a critic between ``P_0`` and ``P_theta`` and report its estimate beside the closed forms.

    ``progress(step, steps, running_w_estimate)`` is called every 50 critic steps (the only host
    syncs of the loop); ``should_stop()`` is polled there too and raises :class:`DistanceStopped`.
    """
    s = settings or LabSettings()
    if not math.isfinite(float(theta)):
        raise ValueError(f"theta = {theta!r}: must be a finite number")
    device = torch.device(device or "cpu")
    with _cpu_threads(device, s):
        return _estimate(float(theta), s, device, progress, should_stop)


def _estimate(theta, s: LabSettings, device, progress, should_stop) -> dict:
    torch.manual_seed(s.seed)  # the critic's initial weights
    gen = torch.Generator(device=device).manual_seed(s.seed)
    critic = MLPCritic(2, s.hidden, s.layers, "none").to(device)
    params = list(critic.parameters())
    opt = _make_optimizer(params, s)
    objective = get_objective(s.objective)
    running = torch.zeros((), device=device)
    for step in range(1, s.steps + 1):
        if objective.clips_weights:  # the reference code clamps before each critic step
            clip_parameters(params, s.clip_value)
        real = segment(0.0, s.batch, gen, device)
        fake = segment(theta, s.batch, gen, device)
        out = objective.critic_loss(critic(real), critic(fake), critic=critic, real=real, fake=fake,
                                    generator=gen, gp_lambda=s.gp_lambda)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        running = 0.9 * running + 0.1 * out.w_estimate
        if step % 50 == 0 or step == s.steps:
            if should_stop is not None and should_stop():
                raise DistanceStopped(f"stopped at critic step {step} of {s.steps}")
            if progress is not None:
                progress(step, s.steps, float(running))
    if objective.clips_weights:
        clip_parameters(params, s.clip_value)
    for p in params:
        p.requires_grad_(False)
    result = {"theta": theta, "objective": s.objective}
    result.update(_estimates(critic, s.objective, theta, s.eval_points, gen, device))
    result.update(closed_forms(theta))
    result["settings"] = asdict(s)
    return result


def sweep(thetas: Sequence[float], settings: LabSettings | None = None, *, device=None,
          on_result: Callable[[dict], None] | None = None,
          progress: Callable[[int, int, float], None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """:func:`estimate` at each theta (a fresh critic each, same seed), in order."""
    results = []
    for theta in thetas:
        r = estimate(theta, settings, device=device, progress=progress, should_stop=should_stop)
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results


def default_thetas(n: int = 17, limit: float = 2.0) -> list[float]:
    """``n`` evenly spaced values over ``[-limit, limit]`` (0 included when n is odd)."""
    if n < 2:
        return [float(limit)]
    return [round(-limit + 2 * limit * i / (n - 1), 6) for i in range(n)]


def even_thetas(lo: float, hi: float, n: int) -> list[float]:
    """``n`` evenly spaced values from ``lo`` to ``hi`` (``wgan-distance --sweep LO:HI:N``)."""
    if n <= 1:
        return [float(lo)]
    if lo == -hi:
        return default_thetas(n, hi)
    return [round(lo + (hi - lo) * i / (n - 1), 6) for i in range(n)]


def fit_slope(results: Sequence[dict]) -> float:
    """Least-squares slope of the estimate against |theta| through the origin: 1 for an exact
    W estimate, K for a K-Lipschitz clipped critic."""
    xs = [abs(r["theta"]) for r in results]
    ys = [r["estimate"] for r in results]
    den = sum(x * x for x in xs)
    return sum(x * y for x, y in zip(xs, ys, strict=True)) / den if den else float("nan")


def run_plan(thetas: Sequence[float], settings: Sequence[LabSettings], *, device=None,
             on_result: Callable[[dict], None] | None = None,
             on_progress: Callable[[dict], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """The Example 1 sweep plan: one :func:`sweep` over ``thetas`` per entry of ``settings`` (one
    per objective, see :func:`plan_settings`), in order.

    ``on_progress`` gets a dict: ``objective``, ``theta``, ``index`` / ``count`` (the estimate being
    made, 0-based, of all of them), ``step`` / ``steps`` (critic steps of this estimate),
    ``done_steps`` / ``total_steps`` (critic steps of the whole plan), ``w_running`` (the critic's
    running W-estimate) and ``elapsed_s``. Raises :class:`DistanceStopped` when ``should_stop()``
    turns true (polled every 50 critic steps)."""
    thetas = [float(t) for t in thetas]
    total = sum(s.steps for s in settings) * len(thetas)
    t0 = time.perf_counter()
    results: list[dict] = []
    state = {"index": 0, "base": 0, "objective": "", "steps": 1}

    def progress(step: int, steps: int, w: float) -> None:
        if on_progress is None:
            return
        i = state["index"]
        on_progress({"objective": state["objective"], "theta": thetas[i % len(thetas)], "index": i,
                     "count": len(thetas) * len(settings), "step": int(step), "steps": int(steps),
                     "done_steps": state["base"] + int(step), "total_steps": total, "w_running": float(w),
                     "elapsed_s": time.perf_counter() - t0})

    def result(r: dict) -> None:
        state["index"] += 1
        state["base"] += state["steps"]
        results.append(r)
        if on_result is not None:
            on_result(r)

    for s in settings:
        state["objective"], state["steps"] = s.objective, s.steps
        sweep(thetas, s, device=device, on_result=result, progress=progress, should_stop=should_stop)
    return results


def plan_settings(settings: LabSettings, objectives: Sequence[str]) -> list[LabSettings]:
    """``settings`` once per objective, in the given order (validated: ValueError)."""
    return [replace(settings, objective=o) for o in objectives]


def results_csv(results: Sequence[dict]) -> str:
    """Results as CSV text: :data:`CSV_KEYS`, one line per result, empty where a result has no
    value (KL = inf is written ``inf``)."""
    out = io.StringIO()
    out.write(",".join(CSV_KEYS) + "\n")
    for r in results:
        out.write(",".join("" if r.get(k) is None else str(r[k]) for k in CSV_KEYS) + "\n")
    return out.getvalue()
