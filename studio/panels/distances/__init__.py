"""The distance lab (Example 1 of the WGAN paper): :class:`DistancesPanel` (:mod:`.panel`), its
form (:mod:`.form`), its plots over θ (:mod:`.theta_plots`) and its table of results (:mod:`.table`)."""

from .panel import DistancesPanel

__all__ = ["DistancesPanel"]
