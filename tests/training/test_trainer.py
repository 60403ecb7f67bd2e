"""Trainer on one device: the same numbers as `model.fit`, and what `fit` cannot do.

Every expectation is independent of the Trainer: `model.fit` / `model.evaluate`
on an identically seeded copy of the model, a NumPy forward pass, gradients
taken with `tf.GradientTape` and applied by hand, or a Keras optimizer applied
directly to the reference copy.
"""

import contextlib
import csv
import glob
import io
import os
import re
import shutil
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import diabetes, digits
from tests.training.models import mlp, wide_and_deep
from tfx_ext.callbacks import TimeStopping
from tfx_ext.training import (
    NonFiniteLossError,
    Trainer,
    TrainingData,
    assign_optimizers,
    build_optimizer,
)

BATCH = 32
L2 = 0.01
SCE = "sparse_categorical_crossentropy"


# -- helpers -----------------------------------------------------------------


def classifier(seed=0, l2=L2):
    """The shared MLP with an explicit L2 factor (so NumPy can recompute it)."""
    return mlp(seed, regularizer=keras.regularizers.L2(l2))


def regressor(seed=0, inputs=10):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(1, name="output"),
        ],
        name="regressor",
    )


def batches(*arrays, batch_size=BATCH):
    return tf.data.Dataset.from_tensor_slices(tuple(arrays)).batch(batch_size)


def compiled(model, optimizer, loss=SCE, metrics=("accuracy",)):
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def weights(model):
    return [np.array(w) for w in model.get_weights()]


def numpy_probabilities(model_weights, x):
    """Forward pass of `classifier` in float64 NumPy: Dense(relu) -> Dense(softmax)."""
    w1, b1, w2, b2 = (np.asarray(w, np.float64) for w in model_weights)
    hidden = np.maximum(np.asarray(x, np.float64) @ w1 + b1, 0.0)
    logits = hidden @ w2 + b2
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def numpy_crossentropy(probabilities, y):
    """Per-example sparse categorical crossentropy, with Keras's epsilon clip."""
    p = probabilities[np.arange(len(y)), y]
    return -np.log(np.clip(p, 1e-7, 1.0 - 1e-7))


def numpy_l2(model_weights, factor):
    return factor * float(np.sum(np.square(np.asarray(model_weights[0], np.float64))))


def tape_gradients(model, x, y, loss_fn=keras.losses.sparse_categorical_crossentropy):
    """Gradient of mean(per-example loss) + model.losses, taken independently."""
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = keras.ops.mean(loss_fn(y, y_pred))
        if model.losses:
            loss = loss + keras.ops.sum(keras.ops.stack(model.losses))
    return tape.gradient(loss, model.trainable_variables)


def global_norm(grads):
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads)))


class WeightLog(keras.callbacks.Callback):
    """Copies of the weights at each batch end and epoch end."""

    def __init__(self):
        super().__init__()
        self.after_batch = []
        self.after_epoch = []

    def on_train_batch_end(self, batch, logs=None):
        self.after_batch.append(weights(self.model))

    def on_epoch_end(self, epoch, logs=None):
        self.after_epoch.append(weights(self.model))


class TrainerTestCase(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        keras.utils.set_random_seed(0)
        self.x_train, self.y_train, self.x_test, self.y_test = digits()

    def temp_dir(self):
        directory = tempfile.mkdtemp(prefix="tfx_ext_trainer_")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        return directory

    def assertWeightsClose(self, a, b, atol=1e-5):
        a = weights(a) if isinstance(a, keras.Model) else a
        b = weights(b) if isinstance(b, keras.Model) else b
        self.assertEqual(len(a), len(b))
        for x, y in zip(a, b):
            self.assertAllClose(x, y, atol=atol, rtol=0)

    def assertHistoryClose(self, history, reference, keys, atol=1e-5):
        self.assertEqual(history.epoch, reference.epoch)
        for key in keys:
            self.assertAllClose(
                history.history[key], reference.history[key], atol=atol, rtol=0, msg=key
            )


# -- 1. equivalence with model.fit ---------------------------------------------


class FitEquivalenceTest(TrainerTestCase):
    epochs = 3

    def reference(self, data, **fit_kwargs):
        model = compiled(classifier(), keras.optimizers.Adam(1e-3))
        if isinstance(data, tuple):
            history = model.fit(*data, epochs=self.epochs, verbose=0, **fit_kwargs)
        else:
            history = model.fit(data, epochs=self.epochs, verbose=0, **fit_kwargs)
        return model, history

    def trainer(self, **kwargs):
        return Trainer(
            classifier(), SCE, keras.optimizers.Adam(1e-3), metrics=["accuracy"], **kwargs
        )

    def check_dataset(self, jit_compile):
        # 1347 examples: 42 full batches and a partial one of 3.
        self.assertNotEqual(len(self.x_train) % BATCH, 0)
        train = batches(self.x_train, self.y_train)
        reference, reference_history = self.reference(train)
        trainer = self.trainer(jit_compile=jit_compile)
        self.assertNotEmpty(trainer.model.losses)  # the L2 term is part of the objective
        history = trainer.fit(train, epochs=self.epochs, verbose=0)

        self.assertWeightsClose(trainer.model, reference)
        self.assertHistoryClose(history, reference_history, ["loss", "accuracy"])
        steps = -(-len(self.x_train) // BATCH)
        self.assertEqual(int(trainer.optimizer.iterations), self.epochs * steps)

        test = batches(self.x_test, self.y_test)
        expected = reference.evaluate(test, verbose=0, return_dict=True)
        results = trainer.evaluate(test)
        self.assertEqual(set(results), {"loss", "accuracy"})
        for key in results:
            self.assertAllClose(results[key], expected[key], atol=1e-5, rtol=0, msg=key)

    def test_dataset_matches_fit_and_evaluate(self):
        self.check_dataset(jit_compile=False)

    def test_jit_compiled_step_matches_fit(self):
        self.check_dataset(jit_compile=True)

    def test_arrays_without_shuffle_match_fit(self):
        reference, reference_history = self.reference(
            (self.x_train, self.y_train), batch_size=BATCH, shuffle=False
        )
        trainer = self.trainer()
        history = trainer.fit(
            (self.x_train, self.y_train),
            epochs=self.epochs,
            batch_size=BATCH,
            shuffle=False,
            verbose=0,
        )
        self.assertWeightsClose(trainer.model, reference)
        self.assertHistoryClose(history, reference_history, ["loss", "accuracy"])
        # Arrays are evaluated in batches too, with the same result as model.evaluate.
        expected = reference.evaluate(
            self.x_test, self.y_test, batch_size=BATCH, verbose=0, return_dict=True
        )
        results = trainer.evaluate((self.x_test, self.y_test))
        for key in results:
            self.assertAllClose(results[key], expected[key], atol=1e-5, rtol=0, msg=key)

    def test_array_shuffling_is_reproducible_from_the_seed(self):
        def run(seed, shuffle):
            trainer = Trainer(classifier(), SCE, keras.optimizers.SGD(0.05), seed=seed)
            trainer.fit((self.x_train, self.y_train), epochs=2, shuffle=shuffle, verbose=0)
            return weights(trainer.model)

        first = run(1, True)
        self.assertWeightsClose(run(1, True), first, atol=0)
        # Shuffling changes the batches (so the trained weights), and the seed picks the order.
        self.assertGreater(np.abs(first[0] - run(1, False)[0]).max(), 1e-4)
        self.assertGreater(np.abs(first[0] - run(2, True)[0]).max(), 1e-4)


# -- 2. sample weights -------------------------------------------------------------


class SampleWeightTest(TrainerTestCase):
    def setUp(self):
        super().setUp()
        self.sample_weight = (
            np.random.default_rng(0).uniform(0.0, 2.0, len(self.y_train)).astype("float32")
        )
        self.train = batches(self.x_train, self.y_train, self.sample_weight)

    def fit_both(self, epochs):
        reference = compiled(classifier(), keras.optimizers.Adam(1e-3))
        expected = reference.fit(self.train, epochs=epochs, verbose=0)
        trainer = Trainer(classifier(), SCE, keras.optimizers.Adam(1e-3), metrics=["accuracy"])
        history = trainer.fit(self.train, epochs=epochs, verbose=0)
        return reference, expected, trainer, history

    def test_weighted_loss_matches_fit(self):
        reference, expected, trainer, history = self.fit_both(2)
        self.assertWeightsClose(trainer.model, reference)
        self.assertHistoryClose(history, expected, ["loss"])

        # The weights do matter: unweighted training ends elsewhere.
        unweighted = Trainer(classifier(), SCE, keras.optimizers.Adam(1e-3))
        unweighted.fit(batches(self.x_train, self.y_train), epochs=2, verbose=0)
        self.assertGreater(
            np.abs(weights(unweighted.model)[0] - weights(trainer.model)[0]).max(), 1e-4
        )

    def test_metrics_match_fit(self):
        # compile(metrics=...) are not weighted by sample_weight (weighted_metrics= are).
        _, expected, _, history = self.fit_both(1)
        self.assertHistoryClose(history, expected, ["accuracy"])


# -- 3. regularization -------------------------------------------------------------


class RegularizationTest(TrainerTestCase):
    def test_loss_is_data_loss_plus_l2_computed_with_numpy(self):
        factor = 10.0
        trainer = Trainer(classifier(l2=factor), SCE, keras.optimizers.SGD(0.0))
        results = trainer.evaluate((self.x_test, self.y_test))
        model_weights = weights(trainer.model)
        data_loss = float(
            np.mean(
                numpy_crossentropy(numpy_probabilities(model_weights, self.x_test), self.y_test)
            )
        )
        regularization = numpy_l2(model_weights, factor)
        self.assertGreater(
            regularization, 10 * data_loss
        )  # the term dominates: forgetting it cannot pass
        self.assertAllClose(results["loss"], data_loss + regularization, rtol=1e-5)


# -- 4. metrics are reset each epoch --------------------------------------------


class RunningMetricsTest(TrainerTestCase):
    def test_batch_and_epoch_logs_are_running_means_over_this_epoch_only(self):
        x, y = self.x_train[:300], self.y_train[:300]  # 9 full batches and one of 12
        train = batches(x, y)
        test = self

        class Recorder(keras.callbacks.Callback):
            """Expected running loss/accuracy from the weights before each step."""

            def on_epoch_begin(self, epoch, logs=None):
                self.loss_sum = self.correct = self.seen = 0.0
                self.batch = 0

            def on_train_batch_begin(self, batch, logs=None):
                test.assertEqual(batch, self.batch)
                xb, yb = (
                    x[batch * BATCH : (batch + 1) * BATCH],
                    y[batch * BATCH : (batch + 1) * BATCH],
                )
                model_weights = weights(self.model)
                probabilities = numpy_probabilities(model_weights, xb)
                batch_loss = np.mean(numpy_crossentropy(probabilities, yb)) + numpy_l2(
                    model_weights, L2
                )
                self.loss_sum += batch_loss * len(yb)
                self.correct += float(np.sum(probabilities.argmax(axis=1) == yb))
                self.seen += len(yb)

            def on_train_batch_end(self, batch, logs=None):
                test.assertAllClose(
                    float(logs["loss"]), self.loss_sum / self.seen, rtol=1e-5, msg=f"batch {batch}"
                )
                test.assertAllClose(
                    float(logs["accuracy"]),
                    self.correct / self.seen,
                    atol=1e-6,
                    msg=f"batch {batch}",
                )
                self.batch += 1

            def on_epoch_end(self, epoch, logs=None):
                test.assertEqual(self.batch, 10)
                test.assertAllClose(logs["loss"], self.loss_sum / self.seen, rtol=1e-5)
                test.assertAllClose(logs["accuracy"], self.correct / self.seen, atol=1e-6)

        trainer = Trainer(classifier(), SCE, keras.optimizers.SGD(0.1), metrics=["accuracy"])
        history = trainer.fit(train, epochs=3, callbacks=[Recorder()], verbose=0)
        self.assertEqual(history.epoch, [0, 1, 2])
        # The model did learn, so an accumulated (never reset) mean would differ from the epoch's own.
        self.assertGreater(history.history["accuracy"][2] - history.history["accuracy"][0], 0.05)


# -- 5. gradient clipping --------------------------------------------------------


class ClippingTest(TrainerTestCase):
    lr = 0.1

    def setUp(self):
        super().setUp()
        self.x, self.y = self.x_train[:BATCH], self.y_train[:BATCH]
        reference = classifier()
        self.before = weights(reference)
        self.grads = [np.asarray(g) for g in tape_gradients(reference, self.x, self.y)]
        self.norm = global_norm(self.grads)

    def one_step(self, optimizer, **kwargs):
        trainer = Trainer(classifier(), SCE, optimizer, **kwargs)
        trainer.fit(batches(self.x, self.y), epochs=1, verbose=0)
        return weights(trainer.model)

    def test_clip_global_norm(self):
        clip = self.norm / 4
        expected = [
            w - self.lr * g * clip / max(self.norm, clip) for w, g in zip(self.before, self.grads)
        ]
        got = self.one_step(keras.optimizers.SGD(self.lr), clip_global_norm=clip)
        self.assertWeightsClose(got, expected, atol=1e-6)

    def test_clip_global_norm_above_the_norm_changes_nothing(self):
        expected = [w - self.lr * g for w, g in zip(self.before, self.grads)]
        got = self.one_step(keras.optimizers.SGD(self.lr), clip_global_norm=2 * self.norm)
        self.assertWeightsClose(got, expected, atol=1e-6)

    def test_clip_norm_clips_each_tensor(self):
        norms = [float(np.linalg.norm(g)) for g in self.grads]
        clip = float(np.median(norms))
        self.assertTrue(any(n > clip * 1.01 for n in norms) and any(n < clip for n in norms))
        expected = [
            w - self.lr * g * clip / max(n, clip) for w, g, n in zip(self.before, self.grads, norms)
        ]
        self.assertWeightsClose(
            self.one_step(keras.optimizers.SGD(self.lr), clip_norm=clip), expected, atol=1e-6
        )

    def test_clip_global_norm_spans_every_optimizer_of_a_mapping(self):
        rates = {"hidden": 0.1, "output": 0.3}
        mapping = {f"mlp/{name}/.*": keras.optimizers.SGD(rate) for name, rate in rates.items()}
        clip = self.norm / 4
        layers = [
            v.path.split("/")[1] for v in classifier().trainable_variables
        ]  # mlp/<layer>/<name>
        lrs = [rates[layer] for layer in layers]
        expected = [
            w - lr * g * clip / max(self.norm, clip)
            for w, g, lr in zip(self.before, self.grads, lrs)
        ]
        # Clipping each optimizer's part to its own norm would give a different update.
        part_norms = {
            name: global_norm([g for g, layer in zip(self.grads, layers) if layer == name])
            for name in rates
        }
        per_part = [
            w - lr * g * clip / max(part_norms[layer], clip)
            for w, g, lr, layer in zip(self.before, self.grads, lrs, layers)
        ]
        self.assertGreater(max(np.abs(a - b).max() for a, b in zip(expected, per_part)), 1e-3)
        self.assertWeightsClose(self.one_step(mapping, clip_global_norm=clip), expected, atol=1e-6)


# -- 6. optimizers per part --------------------------------------------------------


WIDE, DEEP = "wide/.*", "deep_.*/.*"
DEEP_LAYERS = ("deep_1", "deep_2", "deep_out")


class OptimizerMappingTest(TrainerTestCase):
    steps = 3

    def setUp(self):
        super().setUp()
        n = self.steps * BATCH
        self.x, self.y = self.x_train[:n], self.y_train[:n]

    def model(self):
        return wide_and_deep(0, dropout=0.0)

    def train(self, mapping):
        trainer = Trainer(self.model(), SCE, mapping)
        trainer.fit(batches(self.x, self.y), epochs=1, verbose=0)
        return trainer

    def test_wide_part_follows_sgd_and_deep_part_follows_nadam(self):
        sgd, nadam = keras.optimizers.SGD(0.05), keras.optimizers.Nadam(1e-3)
        trainer = self.train({WIDE: sgd, DEEP: nadam})

        reference = self.model()
        variables = reference.trainable_variables
        is_deep = [v.path.split("/")[0] in DEEP_LAYERS for v in variables]
        self.assertEqual(sum(not d for d in is_deep), 2)  # wide/kernel, wide/bias
        deep_vars = [v for v, d in zip(variables, is_deep) if d]
        reference_nadam = keras.optimizers.Nadam(1e-3)
        reference_nadam.build(deep_vars)
        initial_wide_kernel = np.array(reference.get_layer("wide").kernel)
        for step in range(self.steps):
            xb, yb = (
                self.x[step * BATCH : (step + 1) * BATCH],
                self.y[step * BATCH : (step + 1) * BATCH],
            )
            grads = tape_gradients(reference, xb, yb)
            for g, v, d in zip(grads, variables, is_deep):
                if not d:
                    v.assign(v - 0.05 * g)
            reference_nadam.apply([g for g, d in zip(grads, is_deep) if d], deep_vars)
        self.assertWeightsClose(trainer.model, reference, atol=1e-6)
        # Both parts moved, and each by its own rule: Nadam's first steps are ~lr per weight.
        wide_move = np.abs(
            np.array(trainer.model.get_layer("wide").kernel) - initial_wide_kernel
        ).max()
        self.assertGreater(wide_move, 1e-2)
        self.assertEqual(int(sgd.iterations), self.steps)
        self.assertEqual(int(nadam.iterations), self.steps)
        self.assertEqual(int(trainer.optimizer.iterations), self.steps)

    def test_layer_keys_equal_pattern_keys(self):
        by_pattern = self.train(
            {WIDE: keras.optimizers.SGD(0.05), DEEP: keras.optimizers.Nadam(1e-3)}
        )
        model = self.model()
        trainer = Trainer(
            model,
            SCE,
            {
                model.get_layer("wide"): keras.optimizers.SGD(0.05),
                tuple(model.get_layer(name) for name in DEEP_LAYERS): keras.optimizers.Nadam(1e-3),
            },
        )
        trainer.fit(batches(self.x, self.y), epochs=1, verbose=0)
        self.assertWeightsClose(trainer.model, by_pattern.model, atol=1e-7)

    def test_one_optimizer_under_several_keys_is_fine(self):
        nadam = keras.optimizers.Nadam(1e-3)
        # deep_out/kernel matches two keys, both for the same Nadam.
        trainer = self.train(
            {
                WIDE: keras.optimizers.SGD(0.05),
                "deep_[12]/.*": nadam,
                "deep_out/.*": nadam,
                ".*_out/kernel": nadam,
            }
        )
        self.assertEqual(int(nadam.iterations), self.steps)
        self.assertLen(trainer.optimizer.optimizers, 2)

    @rejects_bad_input(Trainer, build_optimizer, assign_optimizers)
    def test_variable_without_optimizer_is_named(self):
        with self.assertRaisesRegex(ValueError, r"argument `optimizer`.*deep_out/kernel"):
            Trainer(
                self.model(),
                SCE,
                {WIDE: keras.optimizers.SGD(), "deep_[12]/.*": keras.optimizers.Nadam()},
            )

    @rejects_bad_input(Trainer, build_optimizer, assign_optimizers)
    def test_variable_claimed_by_two_optimizers(self):
        with self.assertRaisesRegex(ValueError, r"argument `optimizer`.*wide/kernel"):
            Trainer(
                self.model(),
                SCE,
                {
                    WIDE: keras.optimizers.SGD(),
                    DEEP: keras.optimizers.Nadam(),
                    ".*/kernel": keras.optimizers.Adam(),
                },
            )

    @rejects_bad_input(Trainer, build_optimizer, assign_optimizers)
    def test_key_matching_nothing(self):
        with self.assertRaisesRegex(ValueError, r"argument `optimizer`.*embedding/\.\*"):
            Trainer(
                self.model(),
                SCE,
                {
                    WIDE: keras.optimizers.SGD(),
                    DEEP: keras.optimizers.Nadam(),
                    "embedding/.*": keras.optimizers.Adam(),
                },
            )

    @rejects_bad_input(Trainer, build_optimizer, assign_optimizers)
    def test_value_that_is_not_an_optimizer(self):
        with self.assertRaisesRegex(TypeError, r"argument `optimizer`"):
            Trainer(self.model(), SCE, {WIDE: "sgd", DEEP: keras.optimizers.Nadam()})
        with self.assertRaisesRegex(TypeError, r"argument `optimizer`"):
            Trainer(self.model(), SCE, {WIDE: keras.optimizers.SGD(), 3: keras.optimizers.Nadam()})


# -- 7. Keras callbacks -----------------------------------------------------------


class CallbacksTest(TrainerTestCase):
    def setUp(self):
        super().setUp()
        self.train = batches(self.x_train[:320], self.y_train[:320])  # 10 steps
        self.validation = batches(self.x_test, self.y_test)

    def trainer(self, optimizer=None):
        return Trainer(
            classifier(), SCE, optimizer or keras.optimizers.Adam(1e-3), metrics=["accuracy"]
        )

    def test_history_object(self):
        trainer = self.trainer()
        history = trainer.fit(self.train, epochs=3, validation_data=self.validation, verbose=0)
        self.assertIsInstance(history, keras.callbacks.History)
        self.assertIs(history, trainer.model.history)
        self.assertEqual(history.epoch, [0, 1, 2])
        self.assertEqual(history.params["epochs"], 3)
        self.assertEqual(history.params["steps"], 10)
        self.assertEqual(set(history.history), {"loss", "accuracy", "val_loss", "val_accuracy"})
        # val_* are the evaluation of the final weights on the validation data.
        final = trainer.evaluate(self.validation)
        self.assertAllClose(history.history["val_loss"][-1], final["loss"], rtol=1e-6)
        self.assertAllClose(history.history["val_accuracy"][-1], final["accuracy"], rtol=1e-6)

    def test_validation_matches_fit(self):
        reference = compiled(classifier(), keras.optimizers.Adam(1e-3))
        expected = reference.fit(self.train, epochs=2, validation_data=self.validation, verbose=0)
        history = self.trainer().fit(
            self.train, epochs=2, validation_data=self.validation, verbose=0
        )
        self.assertHistoryClose(history, expected, ["loss", "accuracy", "val_loss", "val_accuracy"])

    def test_early_stopping(self):
        trainer = self.trainer()
        stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0)
        history = trainer.fit(
            self.train, epochs=6, validation_data=self.validation, callbacks=[stopper], verbose=0
        )
        # No epoch can improve val_loss by 10: the second epoch is the last one.
        self.assertEqual(history.epoch, [0, 1])
        self.assertEqual(stopper.stopped_epoch, 1)
        self.assertEqual(int(trainer.optimizer.iterations), 20)

    def test_model_checkpoint_keeps_the_best_model(self):
        path = os.path.join(self.temp_dir(), "best.keras")
        trainer = self.trainer(keras.optimizers.Adam(3e-2))
        log = WeightLog()
        checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
        history = trainer.fit(
            self.train,
            epochs=4,
            validation_data=self.validation,
            callbacks=[log, checkpoint],
            verbose=0,
        )
        self.assertTrue(os.path.exists(path))
        best = int(np.argmin(history.history["val_loss"]))
        loaded = keras.models.load_model(path)
        self.assertWeightsClose(loaded, log.after_epoch[best], atol=0)
        reference = classifier()
        reference.set_weights(log.after_epoch[best])
        self.assertAllClose(
            loaded.predict(self.x_test, verbose=0),
            reference.predict(self.x_test, verbose=0),
            atol=1e-6,
        )

    def test_csv_logger_rows_equal_history(self):
        path = os.path.join(self.temp_dir(), "log.csv")
        history = self.trainer().fit(
            self.train,
            epochs=3,
            validation_data=self.validation,
            callbacks=[keras.callbacks.CSVLogger(path)],
            verbose=0,
        )
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertLen(rows, 3)
        self.assertEqual(set(rows[0]), {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"})
        for epoch, row in enumerate(rows):
            self.assertEqual(int(row["epoch"]), epoch)
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                self.assertAllClose(
                    float(row[key]), history.history[key][epoch], rtol=1e-6, msg=key
                )

    def test_tensorboard_writes_the_epoch_logs(self):
        log_dir = self.temp_dir()
        history = self.trainer().fit(
            self.train,
            epochs=2,
            validation_data=self.validation,
            callbacks=[keras.callbacks.TensorBoard(log_dir)],
            verbose=0,
        )
        files = glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True)
        self.assertNotEmpty(files)
        scalars = {}  # {(run, tag): {step: value}}
        for path in files:
            run = os.path.basename(os.path.dirname(path))
            for record in tf.data.TFRecordDataset(path):
                event = tf.compat.v1.Event.FromString(record.numpy())
                for value in event.summary.value:
                    if value.tag.startswith("epoch_"):
                        number = (
                            tf.make_ndarray(value.tensor)
                            if value.HasField("tensor")
                            else value.simple_value
                        )
                        scalars.setdefault((run, value.tag), {})[event.step] = float(number)
        train_loss = scalars[("train", "epoch_loss")]
        self.assertAllClose([train_loss[0], train_loss[1]], history.history["loss"], rtol=1e-6)
        validation_loss = scalars[("validation", "epoch_loss")]
        self.assertAllClose(
            [validation_loss[0], validation_loss[1]], history.history["val_loss"], rtol=1e-6
        )

    def test_learning_rate_scheduler_sets_the_optimizer_rate(self):
        optimizer = keras.optimizers.SGD(0.5)
        trainer = self.trainer(optimizer)
        initial = weights(trainer.model)
        log = WeightLog()
        scheduler = keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: 0.05 if epoch == 0 else 0.0
        )
        trainer.fit(self.train, epochs=3, callbacks=[scheduler, log], verbose=0)
        self.assertAllClose(float(optimizer.learning_rate), 0.0)
        # The step reads the rate each time: the weights move in epoch 0 only.
        self.assertGreater(np.abs(log.after_epoch[0][0] - initial[0]).max(), 1e-3)
        self.assertWeightsClose(trainer.model, log.after_epoch[0], atol=0)
        # ... and epoch 0 used 0.05, not the 0.5 the optimizer was built with.
        reference = compiled(classifier(), keras.optimizers.SGD(0.05))
        reference.fit(self.train, epochs=1, verbose=0)
        self.assertWeightsClose(log.after_epoch[0], reference, atol=1e-5)

    def test_time_stopping_stops_after_the_first_batch(self):
        trainer = self.trainer()
        stopper = TimeStopping(seconds=0)
        history = trainer.fit(self.train, epochs=3, callbacks=[stopper], verbose=0)
        self.assertEqual(int(trainer.optimizer.iterations), 1)
        self.assertEqual(history.epoch, [0])
        self.assertEqual(stopper.stopped_epoch, 0)


# -- 8. progress bar ------------------------------------------------------------------


class ProgbarTest(TrainerTestCase):
    def fit_output(self, verbose):
        trainer = Trainer(classifier(), SCE, keras.optimizers.SGD(0.01), metrics=["accuracy"])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            trainer.fit(batches(self.x_train[:320], self.y_train[:320]), epochs=2, verbose=verbose)
        return out.getvalue()

    def test_verbose_1_prints_a_progress_bar(self):
        output = re.sub(r"\x1b\[[0-9;]*m", "", self.fit_output(1))  # without the terminal colours
        self.assertIn("Epoch 1/2", output)
        self.assertIn("Epoch 2/2", output)
        self.assertRegex(output, r"10/10 .*accuracy: [0-9.e+-]+ - loss: [0-9.e+-]+")

    def test_verbose_0_prints_nothing(self):
        self.assertEqual(self.fit_output(0), "")


# -- 9. bad input ------------------------------------------------------------------


class BadInputTest(TrainerTestCase):
    def trainer(self, model=None, **kwargs):
        return Trainer(model or classifier(), SCE, keras.optimizers.SGD(0.1), **kwargs)

    def assertNamed(self, error, argument, call, *args, **kwargs):
        with self.assertRaisesRegex(
            error, re.escape(f"Invalid value received for argument `{argument}`")
        ):
            call(*args, **kwargs)

    @rejects_bad_input(Trainer, TrainingData)
    def test_train_data_of_the_wrong_structure(self):
        x, y = self.x_train[:64], self.y_train[:64]
        trainer = self.trainer()
        before = weights(trainer.model)
        cases = {
            "x only": tf.data.Dataset.from_tensor_slices(x).batch(BATCH),
            "4-tuple": batches(x, y, np.ones(64, "float32"), np.ones(64, "float32")),
            "arrays of different lengths": (x, y[:-1]),
            "63 features": batches(x[:, :63], y),
            "63 features as arrays": (x[:, :63], y),
            "a dict x for a one-tensor model": batches({"features": x}, y),
        }
        for case, data in cases.items():
            with self.subTest(case):
                self.assertNamed(ValueError, "train_data", trainer.fit, data, verbose=0)
        self.assertNamed(TypeError, "train_data", trainer.fit, x, verbose=0)
        self.assertNamed(
            ValueError,
            "validation_data",
            trainer.fit,
            (x, y),
            validation_data=(x[:, :63], y),
            verbose=0,
        )
        self.assertNamed(ValueError, "data", trainer.evaluate, batches(x))
        # Refused before any step ran.
        self.assertEqual(int(trainer.optimizer.iterations), 0)
        self.assertWeightsClose(trainer.model, before, atol=0)

    @rejects_bad_input(Trainer)
    def test_dict_x_must_use_the_input_names(self):
        x, y = self.x_train[:64], self.y_train[:64]
        trainer = Trainer(wide_and_deep(0), SCE, keras.optimizers.SGD(0.1))
        with self.assertRaisesRegex(ValueError, r"argument `train_data`.*features"):
            trainer.fit(batches({"feats": x}, y), verbose=0)
        self.assertEqual(int(trainer.optimizer.iterations), 0)
        trainer.fit(batches({"features": x}, y), verbose=0)
        self.assertEqual(int(trainer.optimizer.iterations), 2)

    @rejects_bad_input(Trainer)
    def test_model_arguments(self):
        unbuilt = keras.Sequential([keras.layers.Dense(3)])
        self.assertNamed(ValueError, "model", Trainer, unbuilt, SCE, keras.optimizers.SGD())
        self.assertNamed(TypeError, "model", Trainer, lambda x: x, SCE, keras.optimizers.SGD())

    @rejects_bad_input(Trainer)
    def test_constructor_arguments(self):
        cases = [
            (ValueError, "clip_norm", {"clip_norm": 0}),
            (ValueError, "clip_global_norm", {"clip_global_norm": -1}),
            (ValueError, "keep_checkpoints", {"keep_checkpoints": 0}),
            (ValueError, "checkpoint_every", {"checkpoint_every": 0}),
            (TypeError, "jit_compile", {"jit_compile": "yes"}),
            (TypeError, "metrics", {"metrics": "accuracy"}),
            (ValueError, "metrics", {"metrics": ["no_such_metric"]}),
            (TypeError, "loss", {"loss": 42}),
            (TypeError, "optimizer", {"optimizer": 42}),
            (TypeError, "strategy", {"strategy": "mirrored"}),
        ]
        for error, argument, kwargs in cases:
            with self.subTest(argument=argument, kwargs=kwargs):
                arguments = {
                    "model": classifier(),
                    "loss": SCE,
                    "optimizer": keras.optimizers.SGD(),
                    **kwargs,
                }
                self.assertNamed(error, argument, Trainer, **arguments)

    @rejects_bad_input(Trainer)
    @rejects_bad_input(Trainer)
    def test_clip_norm_and_clip_global_norm_together_are_refused(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `clip_norm`.*not both.*Received: clip_norm=1.0"
        ):
            self.trainer(clip_norm=1.0, clip_global_norm=5.0)

    @rejects_bad_input(Trainer, TrainingData)
    def test_empty_data_is_refused(self):
        trainer = self.trainer()
        x, y = self.x_train[:0], self.y_train[:0]
        with self.assertRaisesRegex(
            ValueError, r"argument `train_data`.*at least one batch.*0 examples"
        ):
            trainer.fit((x, y), verbose=0)
        with self.assertRaisesRegex(
            ValueError, r"argument `train_data`.*at least one batch.*an empty dataset"
        ):
            trainer.fit(batches(x, y), verbose=0)
        with self.assertRaisesRegex(
            ValueError, r"argument `train_data`.*at least one batch.*yielded none"
        ):
            trainer.fit(batches(x, y).filter(lambda a, b: True), verbose=0)
        with self.assertRaisesRegex(ValueError, r"argument `validation_data`.*at least one batch"):
            trainer.fit((self.x_train[:64], self.y_train[:64]), validation_data=(x, y), verbose=0)
        with self.assertRaisesRegex(ValueError, r"argument `data`.*at least one batch"):
            trainer.evaluate((x, y))
        self.assertEqual(int(trainer.optimizer.iterations), 0)

    def test_fit_arguments(self):
        trainer = self.trainer()
        data = (self.x_train[:64], self.y_train[:64])
        cases = [
            (ValueError, "epochs", {"epochs": -1}),
            (ValueError, "steps_per_epoch", {"steps_per_epoch": 0}),
            (ValueError, "batch_size", {"batch_size": 0}),
            (ValueError, "verbose", {"verbose": -1}),
            (TypeError, "callbacks", {"callbacks": keras.callbacks.History()}),
        ]
        for error, argument, kwargs in cases:
            with self.subTest(argument=argument):
                self.assertNamed(error, argument, trainer.fit, data, **kwargs)
        self.assertEqual(int(trainer.optimizer.iterations), 0)


# -- 10. non-finite loss -------------------------------------------------------------


class NonFiniteLossTest(TrainerTestCase):
    bad_batch = 4  # the 5th batch, step 5

    def setUp(self):
        super().setUp()
        self.x, self.y = self.x_train[: 8 * BATCH], self.y_train[: 8 * BATCH]

    def nan_weight_data(self, poison=True):
        """A NaN sample weight in the 5th batch: the loss of step 5 is NaN."""
        sample_weight = np.ones(len(self.y), "float32")
        if poison:
            sample_weight[self.bad_batch * BATCH + 3] = np.nan
        return batches(self.x, self.y, sample_weight)

    def test_error_keeps_and_restores_the_last_good_checkpoint(self):
        directory = self.temp_dir()
        trainer = Trainer(
            classifier(),
            SCE,
            keras.optimizers.Adam(1e-3),
            checkpoint_dir=directory,
            checkpoint_every=2,
        )
        log = WeightLog()
        with self.assertRaises(NonFiniteLossError) as caught:
            trainer.fit(self.nan_weight_data(), epochs=2, callbacks=[log], verbose=0)
        message = str(caught.exception)
        self.assertIn("nan at epoch 1, step 5", message)
        self.assertIn(os.path.join(directory, "ckpt-4"), message)

        # Checkpoints of steps 2 and 4 are kept; the newest is before the failing step.
        self.assertEqual(trainer.latest_checkpoint, os.path.join(directory, "ckpt-4"))
        self.assertEqual(
            sorted(os.path.basename(p) for p in glob.glob(os.path.join(directory, "ckpt-*.index"))),
            ["ckpt-2.index", "ckpt-4.index"],
        )
        # The callback saw 4 good steps; the model holds the weights after step 4 again.
        self.assertLen(log.after_batch, 4)
        restored = weights(trainer.model)
        self.assertTrue(all(np.all(np.isfinite(w)) for w in restored))
        self.assertWeightsClose(restored, log.after_batch[3], atol=0)
        self.assertEqual(int(trainer.optimizer.iterations), 4)

        # With the data fixed, fit resumes from step 4 and completes.
        trainer.fit(self.nan_weight_data(poison=False), epochs=2, verbose=0)
        self.assertEqual(int(trainer.optimizer.iterations), 16)

    def test_nan_features_are_caught_at_their_step(self):
        # The softmax-crossentropy of a row of NaN features comes out finite, but
        # its gradient is NaN: the weights after step 5 are NaN. The step must
        # still be reported, and no checkpoint may hold those weights.
        x = np.array(self.x)
        x[self.bad_batch * BATCH + 3, 7] = np.nan
        directory = self.temp_dir()
        trainer = Trainer(
            classifier(),
            SCE,
            keras.optimizers.Adam(1e-3),
            checkpoint_dir=directory,
            checkpoint_every=1,
        )
        log = WeightLog()
        with self.assertRaises(NonFiniteLossError) as caught:
            trainer.fit(batches(x, self.y), epochs=1, callbacks=[log], verbose=0)
        restored = weights(trainer.model)
        self.assertTrue(
            all(np.all(np.isfinite(w)) for w in restored),
            msg="the restored checkpoint holds NaN weights",
        )
        self.assertWeightsClose(restored, log.after_batch[3], atol=0)
        self.assertEqual(trainer.latest_checkpoint, os.path.join(directory, "ckpt-4"))
        self.assertIn("epoch 1, step 5", str(caught.exception))

    def test_error_without_checkpoints_says_so(self):
        trainer = Trainer(classifier(), SCE, keras.optimizers.Adam(1e-3))
        with self.assertRaisesRegex(
            NonFiniteLossError, r"epoch 1, step 5 .*No checkpoint was written"
        ):
            trainer.fit(self.nan_weight_data(), epochs=1, verbose=0)
        self.assertEqual(int(trainer.optimizer.iterations), 5)

        # A checkpoint directory where nothing was written before the failure.
        directory = self.temp_dir()
        trainer = Trainer(
            classifier(),
            SCE,
            keras.optimizers.Adam(1e-3),
            checkpoint_dir=directory,
            checkpoint_every=8,
        )
        with self.assertRaisesRegex(
            NonFiniteLossError, r"epoch 1, step 5 .*No checkpoint was written"
        ):
            trainer.fit(self.nan_weight_data(), epochs=1, verbose=0)
        self.assertIsNone(trainer.latest_checkpoint)

    def test_loss_that_overflows(self):
        x, y = diabetes()
        y = np.array(y[: 4 * BATCH])
        y[2 * BATCH + 1] = 1e30  # its square overflows float32: the loss of step 3 is inf
        trainer = Trainer(regressor(), "mse", keras.optimizers.SGD(0.01))
        with self.assertRaisesRegex(NonFiniteLossError, r"became inf at epoch 1, step 3 "):
            trainer.fit(batches(x[: 4 * BATCH], y), verbose=0)


# -- 11. forms of the loss ------------------------------------------------------------


def absolute_error(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


def my_crossentropy(y_true, y_pred):
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred)


class LossFormsTest(TrainerTestCase):
    epochs = 2

    def check_regression(self, loss):
        x, y = diabetes()
        self.assertEqual(
            y.ndim, 1
        )  # targets of shape (n,), predictions (n, 1): as fit accepts them
        train = batches(x, y)
        reference = compiled(regressor(), keras.optimizers.SGD(0.05), loss=loss, metrics=())
        expected = reference.fit(train, epochs=self.epochs, verbose=0)
        trainer = Trainer(regressor(), loss, keras.optimizers.SGD(0.05))
        history = trainer.fit(train, epochs=self.epochs, verbose=0)
        self.assertHistoryClose(history, expected, ["loss"])
        self.assertWeightsClose(trainer.model, reference)

    def test_loss_name(self):
        self.check_regression("mean_squared_error")

    def test_loss_instance_with_arguments(self):
        # delta=0.5 must be honoured (Huber.get_config() does not include delta).
        self.check_regression(keras.losses.Huber(delta=0.5))

    def test_plain_function_on_targets_of_shape_n(self):
        self.check_regression(absolute_error)

    def test_plain_function_with_accuracy_metric(self):
        train = batches(self.x_train, self.y_train)
        reference = compiled(classifier(), keras.optimizers.Adam(1e-3), loss=my_crossentropy)
        expected = reference.fit(train, epochs=self.epochs, verbose=0)
        trainer = Trainer(
            classifier(), my_crossentropy, keras.optimizers.Adam(1e-3), metrics=["accuracy"]
        )
        history = trainer.fit(train, epochs=self.epochs, verbose=0)
        self.assertHistoryClose(history, expected, ["loss", "accuracy"])
        self.assertWeightsClose(trainer.model, reference)


# -- 12. steps_per_epoch -----------------------------------------------------------


class StepsPerEpochTest(TrainerTestCase):
    def setUp(self):
        super().setUp()
        self.x, self.y = self.x_train[:200], self.y_train[:200]  # 7 batches: 6 of 32 and one of 8

    def test_repeated_dataset_runs_on_across_epochs(self):
        train = batches(self.x, self.y).repeat()
        reference = compiled(classifier(), keras.optimizers.Adam(1e-3))
        expected = reference.fit(train, epochs=3, steps_per_epoch=5, verbose=0)
        trainer = Trainer(classifier(), SCE, keras.optimizers.Adam(1e-3), metrics=["accuracy"])
        history = trainer.fit(train, epochs=3, steps_per_epoch=5, verbose=0)
        self.assertEqual(int(trainer.optimizer.iterations), 15)
        self.assertHistoryClose(history, expected, ["loss", "accuracy"])
        self.assertWeightsClose(trainer.model, reference)

    def test_dataset_running_out_warns_and_stops(self):
        train = batches(self.x, self.y)
        trainer = Trainer(classifier(), SCE, keras.optimizers.Adam(1e-3))
        with pytest.warns(UserWarning, match=r"train_data ran out after 2 of steps_per_epoch=5"):
            history = trainer.fit(train, epochs=3, steps_per_epoch=5, verbose=0)
        self.assertEqual(history.epoch, [0, 1])
        self.assertEqual(int(trainer.optimizer.iterations), 7)
        # The same 7 updates as one epoch over the whole dataset.
        reference = compiled(classifier(), keras.optimizers.Adam(1e-3))
        reference.fit(train, epochs=1, verbose=0)
        self.assertWeightsClose(trainer.model, reference)

    def test_dataset_of_unknown_length(self):
        known = batches(self.x, self.y)
        train = known.filter(lambda x, y: True)
        validation = batches(self.x_test, self.y_test)
        self.assertEqual(int(train.cardinality()), tf.data.UNKNOWN_CARDINALITY)
        # The reference reads the same batches from the dataset of known length
        # (model.fit on an unknown-length dataset counts one extra optimizer
        # iteration per epoch, on the exhausted iterator).
        reference = compiled(classifier(), keras.optimizers.Adam(1e-3))
        expected = reference.fit(known, epochs=3, validation_data=validation, verbose=0)
        trainer = Trainer(classifier(), SCE, keras.optimizers.Adam(1e-3), metrics=["accuracy"])
        history = trainer.fit(
            train, epochs=3, validation_data=validation.filter(lambda x, y: True), verbose=0
        )
        self.assertEqual(int(trainer.optimizer.iterations), 21)
        self.assertHistoryClose(history, expected, ["loss", "accuracy", "val_loss", "val_accuracy"])
        self.assertWeightsClose(trainer.model, reference)


# -- review findings: each once a bug ------------------------------------------


class ReviewRegressionTest(TrainerTestCase):
    def test_callbacks_act_on_the_trainers_optimizer_even_for_a_compiled_model(self):
        model = compiled(classifier(), keras.optimizers.Adam(1e-3))
        own = model.optimizer
        before = weights(model)
        trainer = Trainer(model, SCE, keras.optimizers.SGD(0.1))
        schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.0)
        trainer.fit(batches(self.x_train, self.y_train), epochs=1, verbose=0, callbacks=[schedule])
        self.assertEqual(float(trainer.optimizer.learning_rate), 0.0)
        self.assertWeightsClose(model, before, atol=0)  # rate 0 from the first step: nothing moved
        self.assertIs(model.optimizer, own)  # the compiled model gets its optimizer back

    def test_clipping_sees_the_true_gradients_under_loss_scaling(self):
        x, y = self.x_train[:BATCH], self.y_train[:BATCH]
        reference = classifier()
        grads = [np.asarray(g) for g in tape_gradients(reference, x, y)]
        norm = global_norm(grads)
        expected = [w - 0.1 * g * (norm / 4) / norm for w, g in zip(weights(reference), grads)]
        optimizer = keras.optimizers.LossScaleOptimizer(
            keras.optimizers.SGD(0.1), initial_scale=2.0**10
        )
        trainer = Trainer(classifier(), SCE, optimizer, clip_global_norm=norm / 4)
        trainer.fit(batches(x, y), epochs=1, verbose=0)
        self.assertEqual(int(optimizer.inner_optimizer.iterations), 1)
        self.assertWeightsClose(trainer.model, expected, atol=1e-5)

    def test_arrays_with_steps_per_epoch_run_on_across_epochs(self):
        x, y = (
            self.x_train[:320],
            self.y_train[:320],
        )  # 10 batches: epochs take 0-3, 4-7, 8, 9, 0, 1
        reference = compiled(classifier(), keras.optimizers.SGD(0.1))
        reference.fit(batches(x, y).repeat(), epochs=3, steps_per_epoch=4, verbose=0)
        trainer = Trainer(classifier(), SCE, keras.optimizers.SGD(0.1))
        history = trainer.fit((x, y), epochs=3, steps_per_epoch=4, shuffle=False, verbose=0)
        self.assertEqual(history.epoch, [0, 1, 2])
        self.assertEqual(int(trainer.optimizer.iterations), 12)
        self.assertWeightsClose(trainer.model, reference)

    def test_lambda_loss(self):
        x, y = diabetes()
        reference = regressor()
        reference.compile(keras.optimizers.SGD(0.01), loss=lambda t, p: keras.ops.abs(t - p))
        reference.fit(batches(x, y), epochs=1, verbose=0)
        trainer = Trainer(
            regressor(), lambda t, p: keras.ops.abs(t - p), keras.optimizers.SGD(0.01)
        )
        trainer.fit(batches(x, y), epochs=1, verbose=0)
        self.assertWeightsClose(trainer.model, reference)

    def test_clipping_with_a_variable_the_loss_does_not_reach(self):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((64,))
        model = keras.Model(
            inputs, keras.layers.Dense(10, activation="softmax", name="output")(inputs)
        )
        # A tracked, trainable layer that the forward pass never uses: its gradients are None.
        unused = keras.layers.Dense(4, name="dangling")
        unused.build((None, 64))
        model.dangling = unused
        self.assertGreater(len(model.trainable_variables), 2)
        before = [np.asarray(v) for v in unused.trainable_variables]
        trainer = Trainer(model, SCE, keras.optimizers.SGD(0.1), clip_norm=1.0)
        trainer.fit(batches(self.x_train, self.y_train), epochs=1, verbose=0)
        for variable, value in zip(unused.trainable_variables, before):
            self.assertAllEqual(np.asarray(variable), value)

    @rejects_bad_input(Trainer)
    def test_multi_output_model_and_checkpoint_every_without_a_directory_are_refused(self):
        inputs = keras.Input((64,))
        model = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
        with self.assertRaisesRegex(ValueError, "argument `model`.*single-output"):
            Trainer(model, "mse", keras.optimizers.SGD())
        with self.assertRaisesRegex(ValueError, "argument `checkpoint_every`.*checkpoint_dir"):
            Trainer(classifier(), SCE, keras.optimizers.SGD(), checkpoint_every=5)

    def test_a_metric_added_between_runs_does_not_block_the_resume(self):
        directory = self.temp_dir()
        data = batches(self.x_train, self.y_train)
        Trainer(
            classifier(),
            SCE,
            keras.optimizers.SGD(0.1),
            metrics=["accuracy"],
            checkpoint_dir=directory,
        ).fit(data, epochs=1, verbose=0)
        top3 = keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")
        resumed = Trainer(
            classifier(seed=5),
            SCE,
            keras.optimizers.SGD(0.1),
            metrics=[top3, "accuracy"],
            checkpoint_dir=directory,
        )
        history = resumed.fit(data, epochs=2, verbose=0)
        self.assertEqual(history.epoch, [1])
        self.assertEqual(int(resumed.optimizer.iterations), 2 * len(data))
        self.assertGreaterEqual(history.history["top3"][0], history.history["accuracy"][0])
