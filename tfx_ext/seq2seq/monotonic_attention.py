"""Monotonic attention (Raffel et al., ICML 2017): TFA's `safe_cumprod`, `monotonic_attention`,
`BahdanauMonotonicAttention` and `LuongMonotonicAttention`.

Once a memory entry is attended to, earlier entries cannot be attended to at later output
steps: each entry i is "chosen" with probability p_i = sigmoid(score_i + bias), and the
attention is the distribution of the first chosen entry at or after where the previous
attention stood. `keras.ops` only (every backend).
"""

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import check_choice, check_number, invalid
from tfx_ext.seq2seq.attention_mechanism import _lowest
from tfx_ext.seq2seq.bahdanau_attention import BahdanauAttention
from tfx_ext.seq2seq.luong_attention import LuongAttention

MODES = ("recursive", "parallel", "hard")


def _exclusive(cumulative, x, axis, identity):
    """The exclusive form of a cumulative op along `axis` (TF's `exclusive=True`)."""
    x = ops.moveaxis(x, axis, -1)
    shifted = ops.concatenate([ops.full_like(x[..., :1], identity), x[..., :-1]], axis=-1)
    return ops.moveaxis(cumulative(shifted, axis=-1), -1, axis)


def safe_cumprod(x, *args, **kwargs):
    """Cumulative product of `x` as exp(cumsum(log(x))), without cumprod's underflow.

    TFA's signature: `axis` (default 0), `exclusive`, `reverse` as `tf.math.cumprod`. The
    values are clipped to [tiny, 1] first (`x` must be in [0, 1]: probabilities).
    """
    axis, exclusive, reverse = _cumulative_args(args, kwargs)
    x = ops.convert_to_tensor(x)
    tiny = float(np.finfo(keras.backend.standardize_dtype(x.dtype)).tiny)
    logs = ops.log(ops.clip(x, tiny, 1.0))
    if reverse:
        logs = ops.flip(logs, axis=axis)
    total = _exclusive(ops.cumsum, logs, axis, 0.0) if exclusive else ops.cumsum(logs, axis=axis)
    if reverse:
        total = ops.flip(total, axis=axis)
    return ops.exp(total)


def _cumulative_args(args, kwargs):
    names = ("axis", "exclusive", "reverse")
    values = dict(zip(names, args))
    unknown = set(kwargs) - set(names) - {"name"}
    if unknown or len(args) > 3:
        raise TypeError(
            f"safe_cumprod takes axis, exclusive, reverse (as tf.math.cumprod); got {sorted(unknown)}"
        )
    values.update({k: v for k, v in kwargs.items() if k != "name"})
    return (
        int(values.get("axis", 0)),
        bool(values.get("exclusive", False)),
        bool(values.get("reverse", False)),
    )


def monotonic_attention(p_choose_i, previous_attention, mode):
    """The monotonic attention distribution from choosing probabilities (TFA's function).

    Args:
        p_choose_i: `[batch, memory_time]` probabilities of choosing each entry, in [0, 1].
        previous_attention: `[batch, memory_time]` attention of the previous output step
            (`[1, 0, ..., 0]` at the first step).
        mode: `"recursive"` (exact, a scan over the memory), `"parallel"` (closed form
            with cumulative sums and products: faster, not exact when probabilities are
            very close to 0 or 1), or `"hard"` (probabilities all 0 or 1: exact and fast).

    Returns:
        `[batch, memory_time]` attention.

    Raises:
        ValueError: `mode` is not one of the three.
    """
    if mode not in MODES:
        raise ValueError("mode must be 'recursive', 'parallel', or 'hard'.")
    p_choose_i = ops.convert_to_tensor(p_choose_i)
    previous_attention = ops.cast(ops.convert_to_tensor(previous_attention), p_choose_i.dtype)
    if mode == "recursive":
        # q[i] = (1 - p[i - 1]) q[i - 1] + previous[i]; attention[i] = p[i] q[i]
        shifted = ops.concatenate(
            [ops.ones_like(p_choose_i[:, :1]), 1 - p_choose_i[:, :-1]], axis=1
        )
        steps = ops.stack(
            [ops.transpose(shifted), ops.transpose(previous_attention)], axis=1
        )  # [T, 2, B]

        def step(q, yz):
            q = yz[0] * q + yz[1]
            return q, q

        _, q = ops.scan(step, ops.zeros_like(previous_attention[:, 0]), steps)
        return p_choose_i * ops.transpose(q)
    if mode == "parallel":
        cumprod_1mp = safe_cumprod(1 - p_choose_i, axis=1, exclusive=True)
        return (
            p_choose_i
            * cumprod_1mp
            * ops.cumsum(previous_attention / ops.clip(cumprod_1mp, 1e-10, 1.0), axis=1)
        )
    # hard: drop entries before the last step's choice, then keep only the first chosen one
    p_choose_i = p_choose_i * ops.cumsum(previous_attention, axis=1)
    return p_choose_i * _exclusive(ops.cumprod, 1 - p_choose_i, 1, 1.0)


class _MonotonicMixin:
    """Dirac initial alignments, a learned score bias, sigmoid choosing probabilities."""

    def _setup_monotonic(self, sigmoid_noise, sigmoid_noise_seed, score_bias_init, mode):
        self.sigmoid_noise = check_number("sigmoid_noise", sigmoid_noise, low=0)
        if sigmoid_noise_seed is not None and (
            isinstance(sigmoid_noise_seed, bool) or not isinstance(sigmoid_noise_seed, int)
        ):
            raise invalid("sigmoid_noise_seed", "an integer or None", sigmoid_noise_seed, TypeError)
        self.sigmoid_noise_seed = sigmoid_noise_seed
        self.score_bias_init = check_number("score_bias_init", score_bias_init)
        self.mode = check_choice("mode", mode, MODES)
        self._noise_seed = (
            keras.random.SeedGenerator(sigmoid_noise_seed) if sigmoid_noise > 0 else None
        )
        self.attention_score_bias = self.add_weight(
            name="attention_score_bias",
            shape=(),
            initializer=keras.initializers.Constant(score_bias_init),
        )

    def probability_fn(self, score, state):
        score = score + ops.cast(self.attention_score_bias, score.dtype)
        if self.sigmoid_noise > 0:
            score = score + self.sigmoid_noise * keras.random.normal(
                ops.shape(score), dtype=score.dtype, seed=self._noise_seed
            )
        if self._memory_mask is not None:  # sigmoid(lowest) == 0: masked entries are never chosen
            score = ops.where(
                self._memory_mask,
                score,
                ops.convert_to_tensor(float(_lowest(score.dtype)), score.dtype),
            )
        if self.mode == "hard":
            p_choose_i = ops.cast(score > 0, score.dtype)
        else:
            p_choose_i = ops.sigmoid(score)
        return monotonic_attention(p_choose_i, state, self.mode)

    def initial_alignments(self, batch_size, dtype):
        """`[1, 0, ..., 0]` for every batch entry: the attention starts at the first entry."""
        return ops.one_hot(
            ops.zeros((batch_size,), dtype="int32"), self._alignments_size, dtype=dtype
        )

    def _monotonic_config(self, config):
        config.pop("probability_fn", None)
        return {
            **config,
            "sigmoid_noise": self.sigmoid_noise,
            "sigmoid_noise_seed": self.sigmoid_noise_seed,
            "score_bias_init": self.score_bias_init,
            "mode": self.mode,
        }


@keras.saving.register_keras_serializable(package="tfx_ext")
class BahdanauMonotonicAttention(_MonotonicMixin, BahdanauAttention):
    """Monotonic attention with Bahdanau's (additive) score, TFA's arguments and results.

    `BahdanauAttention`'s score plus a learned scalar `attention_score_bias`, then the
    monotonic probability function (see `monotonic_attention`) instead of softmax.

    Args:
        units, memory, memory_sequence_length, normalize, kernel_initializer, dtype, name:
            as `BahdanauAttention`.
        sigmoid_noise: Standard deviation of noise added to the scores before the sigmoid
            (pushes the choices towards 0 / 1; 0 at inference).
        sigmoid_noise_seed: Optional integer seed of that noise.
        score_bias_init: Initial score bias (negative for long memories).
        mode: `"parallel"` (default), `"recursive"` or `"hard"`.
        **kwargs: `query_layer` / `memory_layer` and layer arguments.

    Example:

    >>> mechanism = BahdanauMonotonicAttention(16, memory=encoder_outputs, score_bias_init=-2.0)
    """

    def __init__(
        self,
        units,
        memory=None,
        memory_sequence_length=None,
        normalize=False,
        sigmoid_noise=0.0,
        sigmoid_noise_seed=None,
        score_bias_init=0.0,
        mode="parallel",
        kernel_initializer="glorot_uniform",
        dtype=None,
        name="BahdanauMonotonicAttention",
        **kwargs,
    ):
        super().__init__(
            units,
            memory=memory,
            memory_sequence_length=memory_sequence_length,
            normalize=normalize,
            kernel_initializer=kernel_initializer,
            dtype=dtype,
            name=name,
            **kwargs,
        )
        self._setup_monotonic(sigmoid_noise, sigmoid_noise_seed, score_bias_init, mode)

    def get_config(self):
        return self._monotonic_config(super().get_config())


@keras.saving.register_keras_serializable(package="tfx_ext")
class LuongMonotonicAttention(_MonotonicMixin, LuongAttention):
    """Monotonic attention with Luong's (multiplicative) score, TFA's arguments and results.

    `LuongAttention`'s score plus a learned scalar `attention_score_bias`, then the
    monotonic probability function (see `monotonic_attention`) instead of softmax.

    Args:
        units, memory, memory_sequence_length, scale, dtype, name: as `LuongAttention`.
        sigmoid_noise: Standard deviation of noise added to the scores before the sigmoid.
        sigmoid_noise_seed: Optional integer seed of that noise.
        score_bias_init: Initial score bias (negative for long memories).
        mode: `"parallel"` (default), `"recursive"` or `"hard"`.
        **kwargs: `memory_layer` and layer arguments.

    Example:

    >>> mechanism = LuongMonotonicAttention(16, memory=encoder_outputs, mode="hard")
    """

    def __init__(
        self,
        units,
        memory=None,
        memory_sequence_length=None,
        scale=False,
        sigmoid_noise=0.0,
        sigmoid_noise_seed=None,
        score_bias_init=0.0,
        mode="parallel",
        dtype=None,
        name="LuongMonotonicAttention",
        **kwargs,
    ):
        super().__init__(
            units,
            memory=memory,
            memory_sequence_length=memory_sequence_length,
            scale=scale,
            dtype=dtype,
            name=name,
            **kwargs,
        )
        self._setup_monotonic(sigmoid_noise, sigmoid_noise_seed, score_bias_init, mode)

    def get_config(self):
        return self._monotonic_config(super().get_config())
