"""MC Dropout: turn a trained model's dropout into a Bayesian approximation.

`enable_mc_dropout` swaps dropout layers for their always-on twins;
`mc_predict` runs many stochastic passes at once (vectorized: the batch is
repeated along the batch axis and each chunk is one compiled forward pass)
and summarizes them.
"""

import dataclasses
import math
import warnings
import weakref

import keras
import numpy as np

from tfx_ext._core.arguments import check_int, invalid
from tfx_ext._core.model_graphs import all_layers, clone_with, fresh_copy
from tfx_ext._core.predictions import looks_like_probabilities
from tfx_ext._core.protocols import is_mc_layer
from tfx_ext.layers.mc_dropout import MC_TWINS
from tfx_ext.uncertainty.mc_sampling import repeated_forward

_EPSILON = 1e-12


def mc_layers(model):
    """The layers of `model` (nested models included) that are stochastic at inference.

    Args:
        model: A Keras model.

    Returns:
        A list of its MC layers (`MCDropout` and the other `mc = True` layers),
        in order; empty when `mc_predict` would have nothing to sample.

    Raises:
        TypeError: `model` is not a `keras.Model`.

    Example:

    >>> [layer.name for layer in mc_layers(enable_mc_dropout(model))]
    """
    if not isinstance(model, keras.Model):
        raise invalid("model", "a keras.Model", model, TypeError)
    return [layer for layer in all_layers(model) if is_mc_layer(layer)]


def _mc_twin(layer):
    if is_mc_layer(layer):
        return None
    for keras_class, twin in MC_TWINS:
        if isinstance(layer, keras_class):
            return twin
    return None


def enable_mc_dropout(model):
    """Returns a copy of `model` whose dropout layers stay on at inference.

    Each `Dropout`, `AlphaDropout`, `SpatialDropout1D` and `SpatialDropout2D`
    (nested models included) becomes its `tfx_ext.layers` MC twin with the
    same configuration; every weight is copied. The original is untouched.

    Args:
        model: A Sequential or functional Keras model.

    Returns:
        A new model of the same architecture and weights.

    Example:

    >>> mc_model = enable_mc_dropout(model)
    >>> prediction = mc_predict(mc_model, x_test, samples=100)
    """

    def clone(layer):
        twin = _mc_twin(layer)
        return twin.from_config(layer.get_config()) if twin else fresh_copy(layer)

    return clone_with(
        model, clone, "enable_mc_dropout", "Use tfx_ext.layers.MCDropout in the model itself."
    )


@dataclasses.dataclass
class MCPrediction:
    """Summary of `samples` stochastic forward passes.

    Attributes:
        mean: Mean output over the passes, shape `(batch, ...)`.
        std: Standard deviation over the passes (population std), same shape.
        samples: Every pass, shape `(samples, batch, ...)`, or `None` unless
            `return_samples=True`.
        predictive_entropy: Classifiers only: entropy of the mean class
            probabilities (total uncertainty), shape `(batch,)`, in nats.
        mutual_information: Classifiers only: predictive entropy minus the mean
            entropy of the passes — the BALD score, the model's (epistemic)
            uncertainty, shape `(batch,)`.
        predicted_class: Classifiers only: argmax of `mean`, shape `(batch,)`.
    """

    mean: np.ndarray
    std: np.ndarray
    samples: np.ndarray = None
    predictive_entropy: np.ndarray = None
    mutual_information: np.ndarray = None
    predicted_class: np.ndarray = None


def _entropy(p, axis=-1):
    return -np.sum(p * np.log(np.clip(p, _EPSILON, 1.0)), axis=axis)


class _PassRunner:
    """One compiled forward pass over a repeated chunk, returning sums to the host."""

    def __init__(self, model, keep_samples):
        # A weak reference: `_RUNNERS` is keyed weakly by the model, and a strong
        # one here would keep every model passed to mc_predict alive forever.
        self._model = weakref.ref(model)
        self.keep_samples = keep_samples
        fn = self._run
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            # reduce_retracing: chunks have at most two shapes (full and last).
            fn = tf.function(fn, reduce_retracing=True)
        elif backend == "jax":
            import jax

            # Keras variables cannot change inside jax.jit: the pass runs
            # statelessly and the dropout seed states it advanced are written
            # back after it. `repeats` is static (at most two values).
            self._stateless = jax.jit(self._stateless_pass, static_argnums=3)
            fn = self._jax_run
        self.fn = fn

    def _run(self, x, repeats):
        ops = keras.ops
        out = repeated_forward(lambda tiled: self._model()(tiled, training=False), x, repeats)
        out64 = ops.cast(out, "float64")
        entropy = -ops.sum(out64 * ops.log(ops.clip(out64, _EPSILON, 1.0)), axis=-1)
        result = (
            ops.sum(out64, axis=0),
            ops.sum(ops.square(out64), axis=0),
            ops.sum(entropy, axis=0),
        )
        if self.keep_samples:
            result = result + (out,)
        return result

    def _stateless_pass(self, trainable, non_trainable, x, repeats):
        ops = keras.ops
        model = self._model()
        tiled = ops.tile(x, [repeats] + [1] * (len(x.shape) - 1))
        out, non_trainable = model.stateless_call(trainable, non_trainable, tiled, training=False)
        return ops.reshape(out, (repeats, x.shape[0]) + tuple(out.shape[1:])), non_trainable

    def _jax_run(self, x, repeats):
        model = self._model()
        out, non_trainable = self._stateless(
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            x,
            repeats,
        )
        for variable, value in zip(model.non_trainable_variables, non_trainable):
            variable.assign(value)
        # The sums are taken on the host: JAX has no float64 unless 64-bit
        # types are enabled process-wide.
        out = np.asarray(out)
        out64 = out.astype("float64")
        entropy = _entropy(out64)
        result = (out64.sum(axis=0), np.square(out64).sum(axis=0), entropy.sum(axis=0))
        return result + (out,) if self.keep_samples else result

    def __call__(self, x, repeats):
        return [keras.ops.convert_to_numpy(v) for v in self.fn(x, repeats)]


# One compiled pass function per (model, keep_samples): repeated mc_predict
# calls on a model reuse its trace instead of retracing.
_RUNNERS = weakref.WeakKeyDictionary()


def _runner(model, keep_samples):
    runners = _RUNNERS.setdefault(model, {})
    if keep_samples not in runners:
        runners[keep_samples] = _PassRunner(model, keep_samples)
    return runners[keep_samples]


def _seed_layers(layers, seed):
    # One stream per layer in the first seed component: SeedGenerator.next()
    # steps the second one, so [seed, index] made layer i replay layer 0's
    # masks i calls later (correlated passes as soon as x took several calls).
    streams = np.random.SeedSequence(seed).generate_state(len(layers)) >> 1
    for stream, layer in zip(streams, layers):
        generator = getattr(layer, "seed_generator", None)
        if generator is not None:
            generator.state.assign(np.array([stream, 0], dtype=generator.state.dtype))


def mc_predict(
    model,
    x,
    samples=100,
    batch_size=None,
    seed=None,
    return_samples=False,
    max_batch_elements=2**22,
    classifier=None,
):
    """Monte Carlo Dropout prediction, vectorized.

    Instead of `samples` separate `predict` calls, the inputs are repeated
    along the batch axis and each chunk of `(repeats * rows)` examples goes
    through one compiled forward pass, with `training=False` for every layer
    except the MC dropout layers (so BatchNormalization uses its moving
    statistics). Chunks keep the repeated input under `max_batch_elements`
    scalars. The model must treat examples independently (true of all
    standard layers in inference mode).

    Args:
        model: A model with MC dropout layers (see `enable_mc_dropout`).
        x: Inputs, a NumPy array (or array-like) of shape `(batch, ...)`.
        samples: Number of stochastic passes, an integer >= 1 (the book
            suggests 100; at least 10).
        batch_size: Rows per chunk; by default as many as fit the budget.
        seed: Optional integer: reseeds the MC layers so the result is
            repeatable.
        return_samples: Whether to keep every pass in `MCPrediction.samples`
            (`samples` times the output size in memory). Defaults to `False`.
        max_batch_elements: Budget of input scalars per forward pass.
        classifier: Whether outputs are class probabilities (adds entropy,
            mutual information and predicted class). By default, detected from
            the mean output (non-negative rows summing to 1).

    Returns:
        An `MCPrediction`.

    Example:

    >>> prediction = mc_predict(enable_mc_dropout(model), x_test, samples=100, seed=0)
    >>> most_uncertain = np.argsort(prediction.mutual_information)[-5:]
    """
    samples = check_int("samples", samples, minimum=1)
    max_batch_elements = check_int("max_batch_elements", max_batch_elements, minimum=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise invalid("x", "a numeric array", f"array of dtype {x.dtype}", TypeError)
    x = x.astype(keras.backend.floatx()) if x.dtype.kind in "iub" else x
    if x.ndim == 0 or x.shape[0] == 0:
        raise invalid("x", "a non-empty batch of shape (batch, ...)", f"array of shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise invalid(
            "x", "finite values", f"an array with {int(np.sum(~np.isfinite(x)))} NaN/inf values"
        )
    expected = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    if expected is not None and (
        len(expected) != x.ndim - 1
        or any(e is not None and e != s for e, s in zip(expected, x.shape[1:]))
    ):
        raise invalid("x", f"an array of shape (batch,) + {expected}", f"array of shape {x.shape}")

    stochastic = mc_layers(model)
    if not stochastic:
        warnings.warn(
            "mc_predict: the model has no MC dropout layer, so every pass is the "
            "same and std is zero. Convert it first with "
            "tfx_ext.uncertainty.enable_mc_dropout(model).",
            stacklevel=2,
        )
    if seed is not None:
        _seed_layers(stochastic, seed)

    row_elements = max(1, math.prod(x.shape[1:]))
    rows_per_pass = max(1, max_batch_elements // row_elements)
    chunk_rows = min(len(x), batch_size or rows_per_pass, rows_per_pass)
    repeats_per_pass = max(1, min(samples, rows_per_pass // chunk_rows))

    runner = _runner(model, return_samples)
    sums, squares, entropies, kept = [], [], [], []
    for start in range(0, len(x), chunk_rows):
        chunk = x[start : start + chunk_rows]
        total = total_sq = total_entropy = 0.0
        passes = []
        done = 0
        while done < samples:
            repeats = min(repeats_per_pass, samples - done)
            result = runner(chunk, repeats)
            total = total + result[0]
            total_sq = total_sq + result[1]
            total_entropy = total_entropy + result[2]
            if return_samples:
                passes.append(result[3])
            done += repeats
        sums.append(total)
        squares.append(total_sq)
        entropies.append(total_entropy)
        if return_samples:
            kept.append(np.concatenate(passes, axis=0))

    mean = np.concatenate(sums, axis=0) / samples
    variance = np.maximum(np.concatenate(squares, axis=0) / samples - np.square(mean), 0.0)
    dtype = keras.backend.floatx()
    prediction = MCPrediction(mean=mean.astype(dtype), std=np.sqrt(variance).astype(dtype))
    if return_samples:
        prediction.samples = np.concatenate(kept, axis=1)
    if classifier is None:
        classifier = looks_like_probabilities(mean)
    if classifier:
        predictive = _entropy(mean)
        expected_entropy = np.concatenate(entropies, axis=0) / samples
        prediction.predictive_entropy = predictive.astype(dtype)
        prediction.mutual_information = np.maximum(predictive - expected_entropy, 0.0).astype(dtype)
        prediction.predicted_class = np.argmax(mean, axis=-1)
    return prediction
