"""Learning-rate schedules that Keras core lacks."""

from tfx_ext.schedules.one_cycle import OneCycle

__all__ = ["OneCycle"]
