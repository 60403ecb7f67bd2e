"""`search`: run a keras-tuner search and get the best model and a results table."""

import dataclasses

import keras
import keras_tuner
import numpy as np

from tfx_ext._core.arguments import check_choice, check_data, check_int, invalid

TUNERS = {
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
}


@dataclasses.dataclass
class SearchResult:
    """The outcome of `search`.

    Attributes:
        best_model: The best trial's model with its trained weights (the
            optimizer state starts fresh: keras-tuner reloads a checkpoint);
            None on a distributed worker.
        best_hyperparameters: Its hyperparameter values (a dict); empty on
            a distributed worker.
        table: One dict per completed trial, best first: `trial_id`,
            `score`, and the hyperparameter values; empty on a distributed
            worker (the chief's result has every trial).
        tuner: The keras-tuner tuner, for anything else.
    """

    best_model: keras.Model
    best_hyperparameters: dict
    table: list
    tuner: object

    def format_table(self, limit=10):
        """The `limit` best trials as an aligned text table (trial, score, hyperparameters)."""
        if not self.table:
            return "(no completed trial)"
        keys = sorted({k for row in self.table for k in row} - {"trial_id", "score"})
        header = ["trial", "score"] + keys
        rows = [
            [r["trial_id"], f"{r['score']:.4f}"] + [str(r.get(k, "")) for k in keys]
            for r in self.table[:limit]
        ]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
        return "\n".join([line(header)] + [line(r) for r in rows])


def _check_data(hypermodel, data):
    """`(x_train, y_train, x_val, y_val)` as checked arrays that fit `hypermodel`."""
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise invalid(
            "data", "a tuple (x_train, y_train, x_val, y_val)", type(data).__name__, TypeError
        )
    example_shape = getattr(hypermodel, "input_shape", None)
    num_classes = getattr(hypermodel, "num_classes", None)
    names = ("x_train", "y_train", "x_val", "y_val")
    arrays = []
    for index, (name, value) in enumerate(zip(names, data)):
        try:
            array = check_data(
                "data", value, example_shape=example_shape if index % 2 == 0 else None
            )
        except (TypeError, ValueError) as error:
            raise type(error)(f"{error} (in {name})") from None
        arrays.append(array)
    for x, y, which in ((arrays[0], arrays[1], "train"), (arrays[2], arrays[3], "val")):
        if len(x) != len(y):
            raise invalid(
                "data",
                f"as many labels as examples in x_{which}",
                f"{len(x)} examples, {len(y)} labels",
            )
    if num_classes is not None:
        for y, name in ((arrays[1], "y_train"), (arrays[3], "y_val")):
            if y.min() < 0 or y.max() >= num_classes or np.any(y != np.floor(y)):
                raise invalid(
                    "data",
                    f"class ids in [0, {num_classes}) in {name} (sparse labels of the hypermodel's {num_classes} classes)",
                    f"ids from {y.min()} to {y.max()}",
                )
    return arrays


def search(
    hypermodel,
    data,
    tuner="random",
    max_trials=10,
    directory="tuning",
    project_name=None,
    objective="val_accuracy",
    epochs=10,
    batch_size=32,
    seed=0,
    callbacks=None,
    overwrite=False,
    verbose=0,
):
    """Searches `hypermodel`'s space; resumes from `directory` when it already holds the project.

    Args:
        hypermodel: A keras-tuner `HyperModel` (e.g. `MLPHyperModel`).
        data: `(x_train, y_train, x_val, y_val)`.
        tuner: `"random"` (the book's first step), `"bayesian"` (when trials
            are expensive) or `"hyperband"` (trains many briefly, then the
            best longer; `epochs` is its maximum).
        max_trials: Trials for random and Bayesian search.
        directory, project_name: Where trials are recorded; rerunning with
            the same values resumes (finished trials are not run again)
            unless `overwrite=True`.
        objective: Metric to maximize / minimize (keras-tuner infers the
            direction for standard names).
        epochs, batch_size: Training of each trial.
        seed: Seed of the tuner's sampling.
        callbacks: Extra Keras callbacks for each trial (EarlyStopping is a
            good one).

    Distributed tuning works the keras-tuner way: run the same `search` in a
    chief process and in worker processes with `KERASTUNER_TUNER_ID`
    (`chief`, `tuner0`, ...), `KERASTUNER_ORACLE_IP` and
    `KERASTUNER_ORACLE_PORT` set; the chief hands out trials.

    Returns:
        A `SearchResult`.

    Raises:
        TypeError: `data` is not a 4-tuple of numeric arrays, or `hypermodel`
            is not a keras-tuner hypermodel.
        ValueError: An unknown `tuner`; `max_trials`, `epochs` or
            `batch_size` < 1; data that is empty, holds NaN/inf, has examples
            of another shape than the hypermodel's `input_shape`, as many
            labels as examples, or labels outside its classes.
        RuntimeError: No trial completed (the last trial's error is quoted).

    Example:

    >>> result = search(MLPHyperModel((64,), 10), (x_train, y_train, x_val, y_val),
    ...                 tuner="random", max_trials=10, directory="tuning", epochs=10)
    >>> print(result.format_table())
    >>> result.best_model.evaluate(x_test, y_test)
    """
    check_choice("tuner", tuner, tuple(TUNERS))
    max_trials = check_int("max_trials", max_trials, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if not isinstance(hypermodel, keras_tuner.HyperModel) and not callable(hypermodel):
        raise invalid(
            "hypermodel", "a keras_tuner.HyperModel (e.g. MLPHyperModel)", hypermodel, TypeError
        )
    x_train, y_train, x_val, y_val = _check_data(hypermodel, data)
    options = dict(
        hypermodel=hypermodel,
        objective=objective,
        directory=str(directory),
        project_name=project_name or getattr(hypermodel, "name", None) or "search",
        overwrite=overwrite,
        seed=seed,
    )
    if tuner == "hyperband":
        options["max_epochs"] = epochs
    else:
        options["max_trials"] = max_trials
    instance = TUNERS[tuner](**options)
    fit_options = dict(
        validation_data=(x_val, y_val),
        batch_size=batch_size,
        callbacks=list(callbacks or []),
        verbose=verbose,
    )
    if tuner != "hyperband":
        fit_options["epochs"] = epochs
    instance.search(x_train, y_train, **fit_options)

    if instance.oracle.__class__.__name__ == "OracleClient":
        # A distributed worker: its oracle is a gRPC client of the chief's,
        # which holds the trials (and may already have shut down).
        return SearchResult(None, {}, [], instance)
    trials = [
        t
        for t in instance.oracle.trials.values()
        if t.status == "COMPLETED" and t.score is not None
    ]
    if not trials:
        failed = [t for t in instance.oracle.trials.values() if t.message]
        # keras-tuner keeps the whole traceback; its last line is the error.
        detail = (
            f" The last trial failed with: {failed[-1].message.strip().splitlines()[-1]}"
            if failed
            else ""
        )
        name = getattr(objective, "name", objective)
        raise RuntimeError(
            f"No trial of the search in {options['directory']}/{options['project_name']} "
            f"completed with a score for objective {name!r}.{detail}"
        )
    direction = instance.oracle.objective.direction
    trials.sort(key=lambda t: t.score, reverse=(direction == "max"))
    table = [
        {"trial_id": t.trial_id, "score": float(t.score), **t.hyperparameters.values}
        for t in trials
    ]
    best_model = instance.get_best_models(1)[0] if trials else None
    best = dict(trials[0].hyperparameters.values) if trials else {}
    return SearchResult(best_model, best, table, instance)
