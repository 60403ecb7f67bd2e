"""The losses ported from TFA in this round: models compiled with them reload
from `.keras` with no custom_objects, bad inputs are refused, and sparsemax
matches its definition (a Euclidean projection onto the simplex)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.losses import (
    GIoULoss,
    LiftedStructLoss,
    NpairsLoss,
    NpairsMultilabelLoss,
    SparsemaxLoss,
    WeightedKappaLoss,
    giou_loss,
    lifted_struct_loss,
    npairs_loss,
    npairs_multilabel_loss,
    sparsemax_loss,
    sparsemax_loss_from_logits,
)
from tfx_ext.losses.sparsemax_loss import sparsemax

ROWS = 8


def _boxes(rng, rows=ROWS):
    corner = rng.random((rows, 2)) * 4
    return np.concatenate([corner, corner + 0.5 + rng.random((rows, 2)) * 3], axis=1).astype(
        "float32"
    )


def _cases(rng):
    """(loss, output units, final activation, y) for a model on 3 inputs; batches of ROWS.

    Every registered function form, and the classes whose `.keras` entry is a
    config with arguments (the others go through `test_config_round_trips`)."""
    labels = np.repeat(np.arange(ROWS // 2), 2).astype("float32")
    indicators = (np.eye(ROWS // 2)[np.arange(ROWS) % (ROWS // 2)]).astype("float32")
    one_hot = np.eye(4, dtype="float32")[np.arange(ROWS) % 4]
    return [
        (giou_loss, 4, None, _boxes(rng)),
        (GIoULoss(mode="iou"), 4, None, _boxes(rng)),
        (lifted_struct_loss, 2, None, labels),
        # The n-pairs losses read the output as the (batch, batch) similarity matrix.
        (npairs_loss, ROWS, None, np.arange(ROWS).astype("float32")),
        (npairs_multilabel_loss, ROWS, None, indicators),
        (sparsemax_loss_from_logits, 4, None, one_hot),
        (WeightedKappaLoss(num_classes=4, weightage="linear"), 4, "softmax", one_hot),
    ]


class TFAPortedLossesTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    @pytest.mark.tf_only(
        "cost: a .keras round trip per loss; the losses' JAX path is covered by the eager tests"
    )
    def test_models_compiled_with_them_reload(self):
        x = self.rng.standard_normal((ROWS, 3)).astype("float32")
        for loss, units, activation, y in _cases(self.rng):
            name = getattr(loss, "__name__", type(loss).__name__)
            with self.subTest(loss=name):
                model = keras.Sequential(
                    [keras.Input((3,)), keras.layers.Dense(units, activation=activation)]
                )
                model.compile("sgd", loss=loss)
                loaded = assert_model_round_trip(self, model, x, saved_model=False)
                if isinstance(loss, keras.losses.Loss):
                    self.assertEqual(loaded.loss.get_config(), loss.get_config())
                else:
                    self.assertIs(loaded.loss, loss)
                # The reloaded loss computes the same finite value on the model's output.
                expected = loss(y, model(x))
                self.assertTrue(np.all(np.isfinite(expected)), name)
                self.assertAllClose(loaded.loss(y, loaded(x)), expected)

    def test_config_round_trips(self):
        for loss in (
            GIoULoss(mode="iou", reduction="sum", name="g"),
            LiftedStructLoss(margin=0.2, name="l"),
            NpairsLoss(name="n"),
            NpairsMultilabelLoss(name="m"),
            SparsemaxLoss(reduction="sum", name="s"),
            WeightedKappaLoss(num_classes=3, weightage="linear", epsilon=1e-3, name="k"),
        ):
            with self.subTest(loss=type(loss).__name__):
                assert_config_round_trip(self, loss)

    def test_sparsemax_is_the_projection_onto_the_simplex(self):
        # Independent reference: sparsemax(z) = argmin_p ||p - z||^2 over the simplex,
        # whose solution p = max(z - tau, 0) has tau found here by bisection.
        z = self.rng.uniform(-2, 2, (6, 5))
        low, high = z.min(1) - 1, z.max(1)
        for _ in range(200):
            tau = (low + high) / 2
            too_much = np.maximum(z - tau[:, None], 0).sum(1) > 1
            low, high = np.where(too_much, tau, low), np.where(too_much, high, tau)
        expected = np.maximum(z - ((low + high) / 2)[:, None], 0)
        self.assertAllClose(sparsemax(z), expected, atol=1e-9)
        # Along another axis: the same projection of the transposed rows.
        self.assertAllClose(sparsemax(z.T, axis=0), expected.T, atol=1e-9)

    @rejects_bad_input(GIoULoss, giou_loss)
    def test_giou_bad_input(self):
        with self.assertRaisesRegex(ValueError, "`mode`"):
            GIoULoss(mode="diou")
        with self.assertRaisesRegex(ValueError, "`mode`"):
            giou_loss(_boxes(self.rng), _boxes(self.rng), mode="ciou")
        with self.assertRaisesRegex(ValueError, "`y_pred`.*size 4"):
            giou_loss(_boxes(self.rng), np.zeros((ROWS, 3), "float32"))

    @rejects_bad_input(LiftedStructLoss, lifted_struct_loss)
    def test_lifted_bad_input(self):
        with self.assertRaisesRegex(ValueError, "`margin`"):
            LiftedStructLoss(margin=-1.0)
        with self.assertRaisesRegex(TypeError, "`margin`"):
            LiftedStructLoss(margin="1")
        with self.assertRaisesRegex(ValueError, "one label per embedding"):
            lifted_struct_loss(np.arange(3), np.zeros((4, 2), "float32"))

    @rejects_bad_input(NpairsLoss, NpairsMultilabelLoss, npairs_loss, npairs_multilabel_loss)
    def test_npairs_bad_input(self):
        with self.assertRaisesRegex(ValueError, "`y_pred`.*square"):
            npairs_loss(np.arange(4), np.zeros((4, 3), "float32"))
        with self.assertRaisesRegex(ValueError, "`y_true`.*one label per row"):
            NpairsLoss()(np.arange(3), np.zeros((4, 4), "float32"))
        with self.assertRaisesRegex(ValueError, "`y_true`.*indicators"):
            npairs_multilabel_loss(np.arange(4), np.zeros((4, 4), "float32"))
        with self.assertRaisesRegex(ValueError, "`y_true`.*one row of labels"):
            NpairsMultilabelLoss()(np.eye(3), np.zeros((4, 4), "float32"))

    @rejects_bad_input(SparsemaxLoss, sparsemax_loss, sparsemax_loss_from_logits)
    def test_sparsemax_bad_input(self):
        with self.assertRaisesRegex(ValueError, "`from_logits`"):
            SparsemaxLoss(from_logits=False)
        z = np.zeros((2, 3), "float32")
        with self.assertRaisesRegex(ValueError, "`labels`.*shape of logits"):
            sparsemax_loss(z, z, np.zeros((2, 4), "float32"))
        with self.assertRaisesRegex(ValueError, "`labels`.*shape of logits"):
            sparsemax_loss_from_logits(np.zeros((2, 4), "float32"), z)

    @rejects_bad_input(WeightedKappaLoss)
    def test_kappa_bad_input(self):
        with self.assertRaisesRegex(ValueError, "`weightage`"):
            WeightedKappaLoss(num_classes=3, weightage=None)
        with self.assertRaisesRegex(TypeError, "`num_classes`"):
            WeightedKappaLoss(num_classes=2.5)
        with self.assertRaisesRegex(ValueError, "`epsilon`"):
            WeightedKappaLoss(num_classes=3, epsilon=-1.0)
        with self.assertRaisesRegex(ValueError, "`y_pred`.*num_classes=3"):
            WeightedKappaLoss(num_classes=3)(np.eye(3)[[0, 1]], np.full((2, 4), 0.25))
