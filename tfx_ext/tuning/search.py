"""`search`: run a keras-tuner search and get the best model and a results table."""

import dataclasses

import keras
import keras_tuner

from tfx_ext.arguments import check_choice, check_int, invalid

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
        if not self.table:
            return "(no completed trial)"
        keys = sorted({k for row in self.table for k in row} - {"trial_id", "score"})
        header = ["trial", "score"] + keys
        rows = [[r["trial_id"], f"{r['score']:.4f}"] + [str(r.get(k, "")) for k in keys] for r in self.table[:limit]]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
        return "\n".join([line(header)] + [line(r) for r in rows])


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
    """
    check_choice("tuner", tuner, tuple(TUNERS))
    max_trials = check_int("max_trials", max_trials, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise invalid("data", "a tuple (x_train, y_train, x_val, y_val)", type(data).__name__, TypeError)
    x_train, y_train, x_val, y_val = data
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
    fit_options = dict(validation_data=(x_val, y_val), batch_size=batch_size, callbacks=list(callbacks or []),
                       verbose=verbose)
    if tuner != "hyperband":
        fit_options["epochs"] = epochs
    instance.search(x_train, y_train, **fit_options)

    if instance.oracle.__class__.__name__ == "OracleClient":
        # A distributed worker: its oracle is a gRPC client of the chief's,
        # which holds the trials (and may already have shut down).
        return SearchResult(None, {}, [], instance)
    trials = [t for t in instance.oracle.trials.values() if t.status == "COMPLETED" and t.score is not None]
    direction = instance.oracle.objective.direction
    trials.sort(key=lambda t: t.score, reverse=(direction == "max"))
    table = [{"trial_id": t.trial_id, "score": float(t.score), **t.hyperparameters.values} for t in trials]
    best_model = instance.get_best_models(1)[0] if trials else None
    best = dict(trials[0].hyperparameters.values) if trials else {}
    return SearchResult(best_model, best, table, instance)
