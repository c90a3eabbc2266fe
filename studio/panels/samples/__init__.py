"""The samples panel (:mod:`.panel`): the image grid (:mod:`.grid`), the toy view (:mod:`.toy`)
with its draw tool (:mod:`.draw_tool`), and what both write under their picture (:mod:`.captions`)."""

from .captions import NO_SAMPLES
from .grid import ImageGridView, tile
from .panel import SamplesPanel
from .toy import TOY_RANGE, ToyView

__all__ = ["NO_SAMPLES", "TOY_RANGE", "ImageGridView", "SamplesPanel", "ToyView", "tile"]
