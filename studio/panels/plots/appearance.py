"""What the plots say and how they look: their tooltips, their titles (which double as the legend:
each curve's name in its colour and line style) and the curves' pens."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from studio.theme import PlotColours

W_TOOLTIP = ("<b>How to read it:</b> the distance from the generated samples to the data as the critic sees "
             "it; W_est = mean f(real) − mean f(generated) is positive while the critic tells them apart, "
             "and falling towards 0 means the generator is getting closer.<br>"
             "<b>W-estimate</b> W_est = mean f(real) − mean f(generated), the critic's estimate of the "
             "Earth-Mover (Wasserstein-1) distance between the data and the generator, up to the critic's "
             "Lipschitz constant.<br><b>It should fall</b> as training improves. The WGAN paper's reference "
             "code prints −W_est as the critic loss; this plot shows W_est itself, sign unchanged."
             "<br>Orange points: the exact W1 between 1,000 generated and 1,000 real points (toy sets), or "
             "the sliced W1 (images), computed every eval_every iterations.<br><b>ρ</b>: Spearman rank "
             "correlation of W_est with them over the evaluations so far (1 = they fall together: the "
             "paper's claim that the estimate tracks sample quality).")
GAP_TOOLTIP = ("<b>Critic gap</b> mean f(real) − mean f(generated): the discriminator's logits (GAN) or "
               "variational function (f-GAN) on real minus generated samples. <b>Not a distance</b>: it does "
               "not have to fall, and it grows when the discriminator wins. The critic loss is minus the "
               "divergence bound it maximises.<br>Orange points: the exact W1 between 1,000 generated and "
               "1,000 real points (toy sets), or the sliced W1 (images), every eval_every iterations: those "
               "do fall as the samples improve.")
LIP_TOOLTIP = ("<b>Lipschitz check</b> (WGAN-GP): the critic's gradient norm ‖∇f(x̂)‖ at the interpolates x̂ "
               "between real and generated samples, where the penalty (‖∇f(x̂)‖ − 1)² acts: the band spans its "
               "10% to 90% quantiles at each iteration, the line is the median, the dashed line the target 1. "
               "A band far above 1 means the penalty is too weak for the critic (raise λ); far below 1, the "
               "critic is flat there and its W-estimate underestimates W1.")
HELDOUT_TOOLTIP = ("<b>Critic on real images</b>, at each evaluation: its mean value on the real images it trains "
                   "on and on the [data] holdout share it never sees (Gulrajani et al. sec. 5.6). Together: the "
                   "critic judges the data's distribution. A gap that keeps growing (training above held-out) "
                   "is the critic overfitting its training images: try more data, a smaller critic, fewer "
                   "critic steps (n_critic) or a stronger penalty (λ).")
FD_TOOLTIP = ("<b>Fréchet distance</b> between generated and real images, at each evaluation (every eval_every "
              "iterations): Gaussians fitted to the features of 1,000 generated and 1,000 real images in a small "
              "network (the digit classifier's last hidden layer for the bundled digits, a classifier trained on "
              "the data set for other labelled sets, fixed random convolutional features, a weak measure, for "
              "unlabelled ones), and the Fréchet distance between them, the formula of FID. It follows what the "
              "eye sees: noise and blobs are far, sharp varied images near.<br>"
              "<b>Lower is better</b> (0: the same mean and covariance of features); by default the lowest "
              "evaluation is kept as checkpoints/best.pt ([train] best_by). Comparable between runs of the same "
              "data, feature network and sample count only; with [train] inception_weights the run also logs FID "
              "itself (inception_fid), comparable with published figures.")
CONFIDENT_TOOLTIP = ("<b>Confident share</b> (digit-like images), at each evaluation: the share of the generated "
                     "samples that the bundled digit classifier puts in one class with probability ≥ 0.9. Noise, "
                     "blobs and blends of two digits are not read confidently; recognisable digits are.<br>"
                     "<b>Higher is better</b>: real digits score about 0.95 or more, the dashed line is 1. It "
                     "says nothing about variety: a generator that draws one digit well scores high too (see "
                     "classes_hit and the Fréchet distance).")


# The regulariser plot by the objective's regulariser column (engine.objectives.traits):
# (title, y label, what the curve is, its mark in the title).
REGULARISERS = {
    "gradient_penalty": ("Gradient penalty", "GP", "GP", "━"),
    "clip_fraction": ("Clip fraction", "share", "critic weights at ±c", "╌"),
}
SEP = " &nbsp; "


def _key(colour, text: str, mark: str = "━") -> str:
    return f"<span style='color:{pg.mkColor(colour).name()}'>{mark}&nbsp;{text}</span>"


def w_title(c: PlotColours, *, estimates_w1: bool, is_toy: bool, rho: float | None) -> str:
    """The W plot's title: what its curve is (a W-estimate, or a critic gap that is no distance),
    its curves, and ρ of the estimate with the measured W1 while the estimate is one."""
    fg = f"color:{c.foreground}"
    w1 = _key(c.w1_exact, "exact W1" if is_toy else "sliced W1", "●")
    against = "W1" if is_toy else "sliced W1"
    main = "W-estimate (should fall)" if estimates_w1 else "Critic gap f(real) − f(fake) (not a distance)"
    # A rank correlation with a gap that need not fall would mislead.
    shown = rho is not None and estimates_w1
    corr = f"{SEP}<span style='{fg}'>ρ(W_est, {against}) = {rho:.2f}</span>" if shown else ""
    return (f"<span style='{fg}'>{main}</span>{SEP}{_key(c.w_raw, 'raw')}{SEP}{_key(c.w_smooth, 'smoothed')}{SEP}"
            f"{w1}{corr}")


def plot_titles(c: PlotColours, *, estimates_w1: bool, regulariser: str | None, is_toy: bool, rho: float | None,
                overfitting: str | None) -> dict[str, str]:
    """Every plot's title, by the panel's plot names (``w``, ``loss``, ``reg``, ...)."""
    fg = f"color:{c.foreground}"

    def head(text: str) -> str:
        return f"<span style='{fg}'>{text}</span>"

    reg_title, _, reg_key, reg_mark = REGULARISERS.get(regulariser or "gradient_penalty")
    warn = (f"{SEP}<span style='color:{pg.mkColor(c.critic).name()}'>⚠ critic overfitting: try more data, a "
            "smaller critic, fewer critic steps, a stronger penalty</span>") if overfitting else ""
    return {
        "w": w_title(c, estimates_w1=estimates_w1, is_toy=is_toy, rho=rho),
        "loss": f"{head('Losses')}{SEP}{_key(c.critic, 'critic L_f')}{SEP}{_key(c.generator, 'generator L_g')}",
        "reg": f"{head(reg_title)}{SEP}{_key(c.penalty, reg_key, reg_mark)}",
        "lip": (f"{head('Lipschitz check ‖∇f(x̂)‖')}{SEP}{_key(c.penalty, '10–90% band, median')}{SEP}"
                f"{_key(c.marker, 'target 1', '╌')}"),
        "heldout": (f"{head('Critic on real images')}{SEP}{_key(c.w_smooth, 'training', '●')}{SEP}"
                    f"{_key(c.critic, 'held-out', '▲')}{warn}"),
        "fd": (f"{head('Fréchet distance (lower is better)')}{SEP}"
               f"{_key(c.fd, 'generated vs real images, in the features its tooltip names', '●')}"),
        "kid": (f"{head('KID (lower is better)')}{SEP}{_key(c.fd, 'mean over subsets', '●')}{SEP}"
                f"{_key(c.fd, '± 1 std band')}"),
        "confident": (f"{head('Confident share (higher is better)')}{SEP}"
                      f"{_key(c.confident, 'samples read as one digit with p ≥ 0.9', '●')}{SEP}"
                      f"{_key(c.marker, 'all', '╌')}"),
        "grad": f"{head('Critic gradient norm')}{SEP}{_key(c.grad_norm, '‖∇_w L_f‖')}",
        "lr": f"{head('Learning rates')}{SEP}{_key(c.lr_critic, 'α_D critic')}{SEP}"
              f"{_key(c.lr_generator, 'α_G generator', '╌')}",
    }


def heldout_tooltip(overfitting: str | None) -> str:
    return HELDOUT_TOOLTIP + (f"<br><br><b>{overfitting}</b>" if overfitting else "")


# The pens: curve -> (colour of the theme, dashed).
PENS = {"w_raw": ("w_raw", False), "w_estimate": ("w_smooth", False), "w1_exact": ("w1_exact", False),
        "sliced_w": ("w1_exact", False), "critic_loss": ("critic", False), "generator_loss": ("generator", False),
        "gradient_penalty": ("penalty", False), "clip_fraction": ("penalty", True),
        "critic_grad_norm": ("grad_norm", False), "lr_critic": ("lr_critic", False),
        "lr_generator": ("lr_generator", True), "gp_grad_q10": ("penalty", False), "gp_grad_q50": ("penalty", False),
        "gp_grad_q90": ("penalty", False), "critic_train": ("w_smooth", False), "critic_heldout": ("critic", False),
        "frechet_distance": ("fd", False), "kid": ("fd", False), "confident_share": ("confident", False)}


def apply_pens(curves: dict[str, pg.PlotDataItem], c: PlotColours) -> None:
    """Every curve's pen in the theme ``c`` (and its symbols' colour: the evaluation points)."""
    for name, (colour, dashed) in PENS.items():
        # 1-pixel pens: Qt's raster engine draws wider lines several times slower.
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        curve = curves[name]
        curve.setPen(pg.mkPen(getattr(c, colour), width=1, style=style))
        if curve.opts["symbol"] is not None:
            curve.setSymbolBrush(pg.mkBrush(getattr(c, colour)))
            curve.setSymbolPen(pg.mkPen(getattr(c, colour)))
