"""Streaming rank correlations: Kendall's tau-b and tau-c, Spearman's rho, Pearson's r.

Replace `tfa.metrics.KendallsTauB`, `KendallsTauC`, `SpearmansRank` and
`PearsonsCorrelation` (same arguments, defaults and results). They keep a
joint histogram of (`y_true`, `y_pred`) on fixed cut points and estimate the
correlation from it (Wei Xiao, "Novel online algorithms for nonparametric
correlations", https://arxiv.org/abs/1712.01521), so memory is fixed however
many examples stream by, and the estimate is exact when every distinct value
has its own bin.

Keras 3 core has no rank correlation. Its `keras.metrics.PearsonCorrelation`
is another metric: the mean over batches of a per-row correlation along the
last axis, not one correlation over every example seen, so TFA's
`PearsonsCorrelation` is kept here.
"""

import warnings

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import check_int, check_number, invalid


def _cuts(low, high, cutpoints):
    cuts = np.linspace(np.float32(low), np.float32(high), cutpoints)
    cuts[-1] += keras.backend.epsilon()  # `high` itself falls in the last bin
    return cuts.astype("float32")


def _bins(values, cuts, low, high):
    """The histogram bin of each value (clipped to `[low, high]` first, as TFA)."""
    values = ops.clip(ops.reshape(ops.cast(values, "float32"), (-1,)), low, high)
    ids = ops.searchsorted(ops.convert_to_tensor(cuts), values, side="right") - 1
    # In float32 `high + epsilon` may round back to `high`: keep `high` in the last bin.
    return ops.clip(ops.cast(ids, "int32"), 0, len(cuts) - 2)


class CorrelationBase(keras.metrics.Metric):
    """Joint and marginal histograms of (`y_true`, `y_pred`); subclasses read a correlation from them.

    Args:
        actual_min: The lower bound of `y_true`'s range (smaller values are clipped to it).
        actual_max: The upper bound of `y_true`'s range (larger values are clipped to it).
        preds_min: The lower bound of `y_pred`'s range.
        preds_max: The upper bound of `y_pred`'s range.
        actual_cutpoints: The number of cut points dividing `y_true`'s range
            (`actual_cutpoints - 1` bins), an integer >= 2. Defaults to `100`.
        preds_cutpoints: The same for `y_pred`. Defaults to `100`.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    `update_state` ignores `sample_weight` (with a warning), as TFA did.
    """

    def __init__(
        self,
        actual_min=0.0,
        actual_max=1.0,
        preds_min=0.0,
        preds_max=1.0,
        actual_cutpoints=100,
        preds_cutpoints=100,
        name=None,
        dtype=None,
    ):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.actual_min = check_number("actual_min", actual_min)
        self.actual_max = check_number("actual_max", actual_max)
        self.preds_min = check_number("preds_min", preds_min)
        self.preds_max = check_number("preds_max", preds_max)
        for low, high, value in (
            ("actual_min", "actual_max", self.actual_max),
            ("preds_min", "preds_max", self.preds_max),
        ):
            if not value > getattr(self, low):
                raise invalid(high, f"a number > {low}={getattr(self, low)!r}", value)
        self.actual_cutpoints = check_int("actual_cutpoints", actual_cutpoints, minimum=2)
        self.preds_cutpoints = check_int("preds_cutpoints", preds_cutpoints, minimum=2)
        self.actual_cuts = _cuts(self.actual_min, self.actual_max, self.actual_cutpoints)
        self.preds_cuts = _cuts(self.preds_min, self.preds_max, self.preds_cutpoints)
        rows, cols = self.actual_cutpoints - 1, self.preds_cutpoints - 1
        self.m = self.add_variable(shape=(rows, cols), initializer="zeros", dtype="int32", name="m")
        self.nrow = self.add_variable(
            shape=(rows,), initializer="zeros", dtype="int32", name="nrow"
        )
        self.ncol = self.add_variable(
            shape=(cols,), initializer="zeros", dtype="int32", name="ncol"
        )
        self.n = self.add_variable(shape=(), initializer="zeros", dtype="int32", name="n")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            warnings.warn(
                f"{type(self).__name__} ignores `sample_weight` (as tfa.metrics did): "
                "every example counts once.",
                stacklevel=2,
            )
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        if None not in y_true.shape and None not in y_pred.shape:
            true_size, pred_size = int(np.prod(y_true.shape)), int(np.prod(y_pred.shape))
            if true_size != pred_size:
                raise invalid(
                    "y_pred",
                    f"one prediction per value of y_true ({true_size} values, shape {tuple(y_true.shape)})",
                    owner=type(self).__name__,
                    received=f"y_pred with shape {tuple(y_pred.shape)}",
                )
        i = _bins(y_true, self.actual_cuts, self.actual_min, self.actual_max)
        j = _bins(y_pred, self.preds_cuts, self.preds_min, self.preds_max)
        ones = ops.ones_like(i)
        rows, cols = self.actual_cutpoints - 1, self.preds_cutpoints - 1
        self.nrow.assign_add(ops.scatter(ops.expand_dims(i, -1), ones, (rows,)))
        self.ncol.assign_add(ops.scatter(ops.expand_dims(j, -1), ones, (cols,)))
        self.m.assign_add(ops.scatter(ops.stack([i, j], axis=1), ones, (rows, cols)))
        self.n.assign_add(ops.cast(ops.shape(i)[0], "int32"))

    def reset_state(self):
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, variable.dtype))

    def get_config(self):
        return {
            **super().get_config(),
            "actual_min": self.actual_min,
            "actual_max": self.actual_max,
            "preds_min": self.preds_min,
            "preds_max": self.preds_max,
            "actual_cutpoints": self.actual_cutpoints,
            "preds_cutpoints": self.preds_cutpoints,
        }


class KendallsTauBase(CorrelationBase):
    """Concordant and discordant pairs, and ties, counted on the histograms."""

    def _pairs(self):
        """`(concordant, discordant, ties in y_true only, ties in y_pred only)`."""
        m = ops.cast(self.m, "float32")
        below_left = ops.cumsum(ops.cumsum(m, axis=0), axis=1)
        concordant = ops.sum(below_left[:-1, :-1] * m[1:, 1:])
        both = ops.sum(ops.square(m))
        ties_true = (ops.sum(ops.square(ops.cast(self.nrow, "float32"))) - both) / 2.0
        ties_pred = (ops.sum(ops.square(ops.cast(self.ncol, "float32"))) - both) / 2.0
        ties_both = ops.sum(m * (m - 1.0)) / 2.0
        n = ops.cast(self.n, "float32")
        discordant = (n - 1.0) * n / 2.0 - concordant - ties_true - ties_pred - ties_both
        return concordant, discordant, ties_true, ties_pred


@keras.saving.register_keras_serializable(package="tfx_ext")
class KendallsTauB(KendallsTauBase):
    """Kendall's tau-b rank correlation, streamed over every example seen.

    `(P - Q) / sqrt((P + Q + T) * (P + Q + U))` for `P` concordant and `Q`
    discordant pairs, `T` pairs tied in `y_true` only and `U` in `y_pred` only
    (`scipy.stats.kendalltau(variant="b")`). Arguments: see `CorrelationBase`
    (`actual_min=0.0, actual_max=1.0, preds_min=0.0, preds_max=1.0,
    actual_cutpoints=100, preds_cutpoints=100, name=None, dtype=None`).

    Example:

    >>> m = KendallsTauB(0, 13, 0, 8)
    >>> m.update_state([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])
    >>> m.result()   # -0.47140455
    """

    def result(self):
        p, q, t, u = self._pairs()
        return ops.cast((p - q) / ops.sqrt((p + q + t) * (p + q + u)), self.dtype)


@keras.saving.register_keras_serializable(package="tfx_ext")
class KendallsTauC(KendallsTauBase):
    """Kendall's tau-c (Stuart's tau-c) rank correlation, streamed over every example seen.

    `2 (P - Q) / (n**2 (m - 1) / m)`, `m` the smaller number of distinct
    values (non-empty bins) of `y_true` and `y_pred`
    (`scipy.stats.kendalltau(variant="c")`). Arguments: see `CorrelationBase`.

    Example:

    >>> m = KendallsTauC(0, 13, 0, 8)
    >>> m.update_state([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])
    >>> m.result()   # -0.48
    """

    def result(self):
        p, q, _, _ = self._pairs()
        n = ops.cast(self.n, "float32")
        distinct = ops.cast(
            ops.minimum(
                ops.count_nonzero(ops.convert_to_tensor(self.ncol)),
                ops.count_nonzero(ops.convert_to_tensor(self.nrow)),
            ),
            "float32",
        )
        return ops.cast(2.0 * (p - q) / (ops.square(n) * (distinct - 1.0) / distinct), self.dtype)


def _midranks(counts, n):
    """The centred mid-rank of each bin (`cumsum` of the bins before it plus half its own)."""
    filled = ops.where(counts > 0, counts, -1.0)
    return ops.cumsum(counts) - counts + (filled - n) / 2.0


@keras.saving.register_keras_serializable(package="tfx_ext")
class SpearmansRank(CorrelationBase):
    """Spearman's rank correlation, streamed over every example seen.

    The Pearson correlation of the mid-ranks of `y_true` and `y_pred`
    (ties share their mean rank, as `scipy.stats.spearmanr`). Arguments: see
    `CorrelationBase`.

    Example:

    >>> m = SpearmansRank(0, 13, 0, 8)
    >>> m.update_state([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])
    >>> m.result()   # -0.54073805
    """

    def result(self):
        nrow = ops.cast(self.nrow, "float32")
        ncol = ops.cast(self.ncol, "float32")
        n = ops.cast(self.n, "float32")
        rrow = _midranks(nrow, n)
        rcol = _midranks(ncol, n)
        rrow = rrow / ops.sqrt(ops.sum(nrow * ops.square(rrow)))
        rcol = rcol / ops.sqrt(ops.sum(ncol * ops.square(rcol)))
        corr = ops.sum(rrow[:, None] * ops.cast(self.m, "float32") * rcol[None, :])
        return ops.cast(corr, self.dtype)


@keras.saving.register_keras_serializable(package="tfx_ext")
class PearsonsCorrelation(CorrelationBase):
    """Pearson's correlation, streamed over every example seen, on the histogram's bin centres.

    As `tfa.metrics.PearsonsCorrelation`: each value counts as the centre of
    its bin, so the result approaches `scipy.stats.pearsonr` as the bins
    narrow. (`keras.metrics.PearsonCorrelation` is another metric: the mean
    over batches of per-row correlations along the last axis.) Arguments:
    see `CorrelationBase`.

    Example:

    >>> m = PearsonsCorrelation(0, 13, 0, 8)
    >>> m.update_state([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])
    >>> m.result()   # -0.5618297
    """

    def result(self):
        ncol = ops.cast(self.ncol, "float32")
        nrow = ops.cast(self.nrow, "float32")
        m = ops.cast(self.m, "float32")
        n = ops.cast(self.n, "float32")
        col_bins = ops.convert_to_tensor((self.preds_cuts[1:] + self.preds_cuts[:-1]) / 2.0)
        row_bins = ops.convert_to_tensor((self.actual_cuts[1:] + self.actual_cuts[:-1]) / 2.0)
        col_mean = ops.sum(ncol * col_bins) / ops.sum(ncol)
        row_mean = ops.sum(nrow * row_bins) / ops.sum(nrow)
        col_var = ops.sum(ncol * ops.square(col_bins)) - ops.sum(ncol) * ops.square(col_mean)
        row_var = ops.sum(nrow * ops.square(row_bins)) - ops.sum(nrow) * ops.square(row_mean)
        joint = ops.sum(m * row_bins[:, None] * col_bins[None, :])
        corr = joint - n * col_mean * row_mean
        return ops.cast(corr / ops.sqrt(col_var * row_var), self.dtype)
