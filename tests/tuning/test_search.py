import glob
import json
import os
import tempfile

import keras
import keras_tuner
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tfx_ext.tuning import MLPHyperModel, SearchResult, search

pytestmark = [
    # keras-tuner 1.4.8 calls threading.currentThread().getName().
    pytest.mark.filterwarnings(
        r"ignore:(currentThread|getName)\(\) is deprecated:DeprecationWarning"
    ),
    # get_best_models loads a checkpoint into a model whose optimizer is not built yet.
    pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer:UserWarning"),
]


class CountingMLP(MLPHyperModel):
    """Counts the trials actually trained (keras-tuner calls `fit` once per trial run)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fits = 0

    def fit(self, hp, model, *args, **kwargs):
        self.fits += 1
        return super().fit(hp, model, *args, **kwargs)


def small_mlp():
    return CountingMLP((64,), 10, max_layers=2)


def trial_files(directory, project):
    """The trial records keras-tuner wrote: {trial_id: parsed trial.json}."""
    records = {}
    for path in glob.glob(os.path.join(directory, project, "trial_*", "trial.json")):
        with open(path) as f:
            record = json.load(f)
        records[record["trial_id"]] = record
    return records


def hyperparameters(row):
    return {k: v for k, v in row.items() if k not in ("trial_id", "score")}


class SearchTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.directory = tmp.name

    def assert_consistent(
        self, result, directory, project, trials, objective="val_accuracy", best="max"
    ):
        """Checks the table and best model against the trial files and a fresh evaluation."""
        _, _, x_val, y_val = digits()
        records = trial_files(directory, project)
        self.assertLen(records, trials)
        for record in records.values():
            self.assertEqual(record["status"], "COMPLETED")
        # All trials, best first, with the scores keras-tuner recorded.
        self.assertLen(result.table, trials)
        self.assertCountEqual([row["trial_id"] for row in result.table], records)
        scores = [row["score"] for row in result.table]
        self.assertEqual(scores, sorted(scores, reverse=(best == "max")))
        for row in result.table:
            record = records[row["trial_id"]]
            self.assertAllClose(row["score"], record["score"])
            self.assertEqual(hyperparameters(row), record["hyperparameters"]["values"])
        self.assertEqual(result.best_hyperparameters, hyperparameters(result.table[0]))
        # The best model scores on the validation data what the table says.
        metrics = result.best_model.evaluate(x_val, y_val, verbose=0, return_dict=True)
        name = objective.removeprefix("val_")
        self.assertAllClose(metrics[name], result.table[0]["score"], atol=1e-5, rtol=1e-5)

    def test_random_search(self):
        hypermodel = small_mlp()
        result = search(hypermodel, digits(), max_trials=3, epochs=2, directory=self.directory)
        self.assertIsInstance(result, SearchResult)
        self.assertIsInstance(result.tuner, keras_tuner.RandomSearch)
        self.assertEqual(hypermodel.fits, 3)
        # The project name defaults to the hypermodel's name.
        self.assert_consistent(result, self.directory, "mlp", trials=3)
        self.assertCountEqual([row["trial_id"] for row in result.table], ["0", "1", "2"])
        # The best model is built from the best hyperparameters.
        best = result.best_hyperparameters
        dense = [
            layer for layer in result.best_model.layers if isinstance(layer, keras.layers.Dense)
        ]
        self.assertEqual(
            [layer.units for layer in dense],
            [best[f"units_{i}"] for i in range(best["layers"])] + [10],
        )
        self.assertIs(dense[0].activation, keras.activations.get(best["activation"]))
        self.assertAllClose(
            float(result.best_model.optimizer.learning_rate), best["learning_rate"], rtol=1e-6
        )
        # The summary names every trial, the best first.
        lines = result.format_table().splitlines()
        self.assertLen(lines, 4)
        self.assertTrue(lines[1].startswith(result.table[0]["trial_id"]))

    @pytest.mark.slow
    def test_resume_does_not_rerun_trials(self):
        first = small_mlp()
        done = search(
            first, digits(), max_trials=2, epochs=2, directory=self.directory, project_name="resume"
        )
        self.assertEqual(first.fits, 2)
        stamps = {
            path: os.path.getmtime(path)
            for path in glob.glob(os.path.join(self.directory, "resume", "trial_*", "*"))
        }

        again = small_mlp()
        resumed = search(
            again, digits(), max_trials=2, epochs=2, directory=self.directory, project_name="resume"
        )
        self.assertEqual(again.fits, 0)
        self.assertEqual(resumed.table, done.table)
        self.assertEqual(resumed.best_hyperparameters, done.best_hyperparameters)
        for path, stamp in stamps.items():
            self.assertEqual(os.path.getmtime(path), stamp, msg=path)
        self.assert_consistent(resumed, self.directory, "resume", trials=2)

        # A larger budget runs only the missing trial.
        more = small_mlp()
        extended = search(
            more, digits(), max_trials=3, epochs=2, directory=self.directory, project_name="resume"
        )
        self.assertEqual(more.fits, 1)
        self.assertCountEqual([row["trial_id"] for row in extended.table], ["0", "1", "2"])
        old = {row["trial_id"]: row for row in done.table}
        for row in extended.table:
            if row["trial_id"] in old:
                self.assertEqual(row, old[row["trial_id"]])

        # overwrite=True starts over.
        fresh = small_mlp()
        restarted = search(
            fresh,
            digits(),
            max_trials=1,
            epochs=1,
            directory=self.directory,
            project_name="resume",
            overwrite=True,
        )
        self.assertEqual(fresh.fits, 1)
        self.assertLen(restarted.table, 1)
        self.assertLen(trial_files(self.directory, "resume"), 1)

    def test_bayesian_search_minimizing_loss(self):
        hypermodel = small_mlp()
        result = search(
            hypermodel,
            digits(),
            tuner="bayesian",
            max_trials=3,
            epochs=2,
            directory=self.directory,
            project_name="bayes",
            objective="val_loss",
        )
        self.assertIsInstance(result.tuner, keras_tuner.BayesianOptimization)
        self.assertEqual(hypermodel.fits, 3)
        self.assert_consistent(
            result, self.directory, "bayes", trials=3, objective="val_loss", best="min"
        )

    def test_hyperband_search(self):
        hypermodel = small_mlp()
        result = search(
            hypermodel,
            digits(),
            tuner="hyperband",
            epochs=2,
            directory=self.directory,
            project_name="hyperband",
        )
        self.assertIsInstance(result.tuner, keras_tuner.Hyperband)
        records = trial_files(self.directory, "hyperband")
        self.assertGreaterEqual(len(records), 2)
        self.assertEqual(hypermodel.fits, len(records))
        self.assert_consistent(result, self.directory, "hyperband", trials=len(records))
        # Hyperband trains each trial for at most `epochs` epochs.
        for row in result.table:
            self.assertLessEqual(row["tuner/epochs"], 2)

    @rejects_bad_input(search)
    def test_bad_arguments(self):
        hypermodel = small_mlp()
        with self.assertRaisesRegex(
            ValueError, r"argument `tuner`.*'random'.*Received: tuner='grid'"
        ):
            search(hypermodel, digits(), tuner="grid", directory=self.directory)
        with self.assertRaisesRegex(TypeError, r"argument `data`.*x_train, y_train, x_val, y_val"):
            search(hypermodel, digits()[:3], directory=self.directory)
        with self.assertRaisesRegex(TypeError, r"argument `data`"):
            search(hypermodel, {"x": digits()[0]}, directory=self.directory)
        with self.assertRaisesRegex(ValueError, r"argument `max_trials`.*Received: max_trials=0"):
            search(hypermodel, digits(), max_trials=0, directory=self.directory)
        with self.assertRaisesRegex(ValueError, r"argument `epochs`.*Received: epochs=0"):
            search(hypermodel, digits(), epochs=0, directory=self.directory)
        self.assertEqual(hypermodel.fits, 0)
        self.assertEqual(os.listdir(self.directory), [])

    @rejects_bad_input(search)
    def test_no_completed_trial_raises_instead_of_an_empty_result(self):
        x, y = digits()[0][:40], digits()[1][:40]
        objective = keras_tuner.Objective("val_no_such_metric", "max")
        with self.assertRaisesRegex(
            RuntimeError,
            r"No trial .* completed .*'val_no_such_metric'.*last trial failed with: KeyError",
        ):
            search(
                small_mlp(),
                (x, y, x, y),
                max_trials=1,
                epochs=1,
                directory=self.directory,
                objective=objective,
            )

    @rejects_bad_input(search)
    def test_bad_data_is_refused_before_any_trial(self):
        hypermodel = small_mlp()
        x_train, y_train, x_val, y_val = digits()
        nan_x = x_train.copy()
        nan_x[5, 7] = float("nan")
        cases = [
            # 10 features for a (64,) hypermodel: keras-tuner would fail every trial quietly.
            (
                (x_train[:, :10], y_train, x_val[:, :10], y_val),
                ValueError,
                r"argument `data`.*examples of shape \(64,\).*\(1347, 10\).*in x_train",
            ),
            (
                (nan_x, y_train, x_val, y_val),
                ValueError,
                r"argument `data`.*finite.*1 NaN.*in x_train",
            ),
            (
                (x_train[:0], y_train[:0], x_val, y_val),
                ValueError,
                r"argument `data`.*non-empty.*in x_train",
            ),
            (
                (x_train, y_train[:-1], x_val, y_val),
                ValueError,
                r"argument `data`.*as many labels.*x_train",
            ),
            (
                (x_train, y_train + 1, x_val, y_val),
                ValueError,
                r"argument `data`.*\[0, 10\).*y_train.*1 to 10",
            ),
            (
                (x_train, y_train, x_val, y_val.astype(str)),
                TypeError,
                r"argument `data`.*numeric.*in y_val",
            ),
        ]
        for data, error, pattern in cases:
            with self.subTest(pattern=pattern), self.assertRaisesRegex(error, pattern):
                search(hypermodel, data, directory=self.directory)
        with self.assertRaisesRegex(ValueError, r"argument `batch_size`"):
            search(hypermodel, digits(), batch_size=0, directory=self.directory)
        with self.assertRaisesRegex(TypeError, r"argument `hypermodel`"):
            search("mlp", digits(), directory=self.directory)
        self.assertEqual(hypermodel.fits, 0)
        self.assertEqual(os.listdir(self.directory), [])
