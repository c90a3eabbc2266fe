"""The training curves: :class:`PlotsPanel` (:mod:`.panel`), its pyqtgraph pieces (:mod:`.items`),
the run's events on the plots (:mod:`.markers`), what the plots say (:mod:`.texts`), the thinned
views of the metrics history they draw (:mod:`.thinning`) and Export plots (:mod:`.export_plots`)."""

from .markers import event_label
from .panel import EMPTY_RANGE, FRAME_BUDGET, MAX_REDRAW_MS, REDRAW_MS, SMOOTHED, PlotsPanel
from .thinning import Smoother

__all__ = ["EMPTY_RANGE", "FRAME_BUDGET", "MAX_REDRAW_MS", "REDRAW_MS", "SMOOTHED", "PlotsPanel", "Smoother",
           "event_label"]
