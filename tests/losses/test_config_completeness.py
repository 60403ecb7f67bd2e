"""Every tfx_ext loss keeps every constructor argument through its config (see config_completeness)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.losses.config_completeness import assert_config_keeps_every_argument, assert_table_covers
from tfx_ext import losses


def _regression(rng):
    y_true = rng.standard_normal((8, 2)).astype("float32")
    return y_true, (y_true + 2.0 * rng.standard_normal((8, 2))).astype("float32")


def _embeddings(rng):
    return np.repeat([0, 1, 2, 3], 4), rng.standard_normal((16, 5)).astype("float32")


def _distances(rng):
    return (rng.random(8) < 0.5).astype("float32"), (2.0 * rng.random(8)).astype("float32")


def _boxes(rng):
    def boxes():
        corner = rng.random((8, 2)) * 4
        return np.concatenate([corner, corner + 0.5 + rng.random((8, 2)) * 3], axis=1).astype(
            "float32"
        )

    return boxes(), boxes()


def _similarities(rng):
    return np.arange(4), rng.standard_normal((4, 4)).astype("float32")


def _indicators(rng):
    return np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1], [1, 0, 1]], "float32"), rng.standard_normal(
        (4, 4)
    ).astype("float32")


def _ordinal(rng):
    probabilities = rng.random((8, 4)) + 0.2
    return np.eye(4)[rng.integers(0, 4, 8)], (
        probabilities / probabilities.sum(-1, keepdims=True)
    ).astype("float32")


# Required arguments, given to the default-built twin too.
REQUIRED = {"WeightedKappaLoss": {"num_classes": 4}}
# Losses whose only arguments besides `name` are `dtype`: the value cannot change.
SAME_VALUE = {"NpairsLoss", "NpairsMultilabelLoss"}


def _loss_cases():
    # Non-default values for every argument, and the data the loss is evaluated on.
    float64 = {"reduction": "sum", "dtype": "float64"}
    return {
        "HuberLoss": (dict(threshold=0.3, name="h", **float64), _regression),
        "ContrastiveLoss": (dict(margin=2.5, name="c", **float64), _distances),
        "PinballLoss": (dict(tau=[0.1, 0.9], name="p", **float64), _regression),
        "TripletSemiHardLoss": (
            dict(margin=0.3, distance_metric="squared-L2", name="t", dtype="float64"),
            _embeddings,
        ),
        "TripletHardLoss": (
            dict(margin=0.3, soft=True, distance_metric="angular", name="t", dtype="float64"),
            _embeddings,
        ),
        "GIoULoss": (dict(mode="iou", name="g", **float64), _boxes),
        "LiftedStructLoss": (dict(margin=0.3, name="l", dtype="float64"), _embeddings),
        "NpairsLoss": (dict(name="n", dtype="float64"), _similarities),
        "NpairsMultilabelLoss": (dict(name="m", dtype="float64"), _indicators),
        "WeightedKappaLoss": (
            dict(num_classes=4, weightage="linear", name="k", epsilon=1e-3, **float64),
            _ordinal,
        ),
    }


class LossConfigCompletenessTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_every_loss_is_covered(self):
        assert_table_covers(
            self, losses, {**_loss_cases(), "SampledSoftmaxLoss": None, "SparsemaxLoss": None}
        )

    def test_every_loss_keeps_every_argument(self):
        for name, (kwargs, data) in _loss_cases().items():
            with self.subTest(loss=name):
                y_true, y_pred = data(np.random.default_rng(0))
                default_value = getattr(losses, name)(**REQUIRED.get(name, {}))(y_true, y_pred)
                clone = assert_config_keeps_every_argument(
                    self, getattr(losses, name), kwargs, compute=lambda loss: loss(y_true, y_pred)
                )
                # The non-default arguments matter, so the comparison above can fail.
                if name not in SAME_VALUE:
                    self.assertNotAllClose(clone(y_true, y_pred), default_value)

    def test_sparsemax_loss_keeps_every_argument(self):
        # `from_logits` can only be True (TFA's rule), so the generic check,
        # which wants a non-default value for every argument, cannot run.
        y_true = np.eye(4)[[0, 1, 2, 3, 0]]
        y_pred = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
        loss = losses.SparsemaxLoss(reduction="sum", name="s", dtype="float64")
        config = loss.get_config()
        self.assertEqual(
            {k: config[k] for k in ("from_logits", "reduction", "name", "dtype")},
            {"from_logits": True, "reduction": "sum", "name": "s", "dtype": "float64"},
        )
        clone = losses.SparsemaxLoss.from_config(config)
        self.assertEqual(clone.get_config(), config)
        self.assertAllClose(clone(y_true, y_pred), loss(y_true, y_pred))
        self.assertNotAllClose(clone(y_true, y_pred), losses.SparsemaxLoss()(y_true, y_pred))

    @pytest.mark.tf_only("SampledSoftmaxLoss uses tf.nn.sampled_softmax_loss")
    def test_sampled_softmax_keeps_every_argument(self):
        x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")

        def compute(layer):
            layer.build((None, 3))
            return layer(x)

        kwargs = dict(
            num_classes=7,
            num_sampled=3,
            remove_accidental_hits=False,
            kernel_initializer=keras.initializers.RandomNormal(seed=3),
            bias_initializer=keras.initializers.RandomUniform(seed=4),
            seed=5,
        )
        assert_config_keeps_every_argument(self, losses.SampledSoftmaxLoss, kwargs, compute=compute)

    def test_the_check_catches_keras_huber(self):
        """Keras 3.15's Huber omits `delta`: the same check fails on it."""
        with self.assertRaisesRegex(AssertionError, "omits constructor argument `delta`"):
            assert_config_keeps_every_argument(
                self,
                keras.losses.Huber,
                dict(delta=0.3, reduction="sum", name="h", dtype="float64"),
            )
