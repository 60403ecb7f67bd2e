"""Tagging the parts of dates with a BiLSTM-CRF (TFA's `CRFModelWrapper`, on Keras 3).

"12 March 2023" -> DAY MONTH YEAR; "2023 - 03 - 12" -> YEAR SEP MONTH SEP DAY;
"12 / 03 / 2023" -> DAY SEP MONTH SEP YEAR; "March 12 , 2023" -> MONTH DAY SEP
YEAR. The data is generated here; a two-digit number is a day or a month
depending on the format, so the tagger needs the context a BiLSTM gives and
the tag-to-tag constraints a CRF learns.

The model is TFA users' recipe: `Embedding(mask_zero=True)` ->
`Bidirectional(LSTM)` as the base model, wrapped in
`tfx_ext.text.CRFModelWrapper` and trained with `fit`; Viterbi decoding is
inside the model. It is saved as `.keras` and reloaded with no
`custom_objects`, compared with a softmax tagger on the same base, exported
with `tfx_ext.export.export_for_serving` (strings in, tag names out) and
queried over REST through `tfx_ext.serving.LocalModelServer`.

Run: .venv/bin/python examples/crf_tagging.py [--epochs 8] [--output-dir DIR]

`run(output_dir, ...)` returns a dict of results (accuracies, served tags).
"""

import argparse
import os
import socket
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.text import CRFModelWrapper

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
TAGS = ["PAD", "DAY", "MONTH", "YEAR", "SEP"]
PAD, DAY, MONTH, YEAR, SEP = range(len(TAGS))
MAX_LEN = 5
YEARS = range(1900, 2100)
VOCABULARY = (
    [str(n) for n in range(1, 32)]
    + [f"{n:02d}" for n in range(1, 10)]
    + [str(y) for y in YEARS]
    + MONTHS
    + [m[:3] for m in MONTHS if m != "May"]
    + ["/", "-", ","]
)


def random_dates(n, rng):
    """`n` dates in four formats: (texts, tag id rows padded with PAD)."""
    texts, tags = [], np.zeros((n, MAX_LEN), "int32")
    for row in range(n):
        year, month, day = (
            int(rng.choice(YEARS)),
            int(rng.integers(1, 13)),
            int(rng.integers(1, 29)),
        )
        name = MONTHS[month - 1] if rng.random() < 0.5 else MONTHS[month - 1][:3]
        kind = rng.integers(4)
        if kind == 0:
            tokens, labels = [str(day), name, str(year)], [DAY, MONTH, YEAR]
        elif kind == 1:
            tokens, labels = (
                [str(year), "-", f"{month:02d}", "-", f"{day:02d}"],
                [YEAR, SEP, MONTH, SEP, DAY],
            )
        elif kind == 2:
            tokens, labels = (
                [f"{day:02d}", "/", f"{month:02d}", "/", str(year)],
                [DAY, SEP, MONTH, SEP, YEAR],
            )
        else:
            tokens, labels = [name, str(day), ",", str(year)], [MONTH, DAY, SEP, YEAR]
        texts.append(" ".join(tokens))
        tags[row, : len(labels)] = labels
    return texts, tags


class Tokenize(keras.layers.Layer):
    """Date strings -> `[batch, MAX_LEN]` token ids (0 pads, 1 is out of vocabulary)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lookup = keras.layers.StringLookup(
            vocabulary=VOCABULARY, mask_token="", num_oov_indices=1
        )

    def call(self, texts):
        tokens = tf.strings.split(texts).to_tensor("", shape=[None, MAX_LEN])
        return tf.cast(self.lookup(tokens), "int32")

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], MAX_LEN), dtype="int32")


class TagNames(keras.layers.Layer):
    """Tag ids `[batch, MAX_LEN]` -> one string per date, e.g. "DAY MONTH YEAR"."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the padding is dropped here; nothing downstream needs a mask

    def compute_mask(self, tags, mask=None):
        return None

    def call(self, tags):
        names = tf.gather(tf.constant(TAGS), tags)
        return tf.strings.regex_replace(
            tf.strings.reduce_join(names, axis=1, separator=" "), "( PAD)+$", ""
        )

    def compute_output_spec(self, tags):
        return keras.KerasTensor((tags.shape[0],), dtype="string")


def base_model(units, embedding_dim=16):
    ids = keras.Input((MAX_LEN,), dtype="int32", name="ids")
    x = keras.layers.Embedding(len(VOCABULARY) + 2, embedding_dim, mask_zero=True)(ids)
    x = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))(x)
    return keras.Model(ids, x, name="bilstm")


def tag_accuracy(predicted, expected):
    """Token accuracy over the real tokens (padding excluded)."""
    mask = expected != PAD
    return float(np.mean(np.asarray(predicted)[mask] == expected[mask]))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(
    output_dir,
    epochs=8,
    n_train=4000,
    n_test=500,
    units=32,
    batch_size=64,
    softmax_baseline=True,
    serve=True,
    seed=42,
    verbose=0,
):
    """Trains, evaluates, saves, reloads, exports and serves the BiLSTM-CRF tagger.

    Returns:
        A dict: `crf_accuracy` (token accuracy on held-out dates),
        `reloaded_equals_keras`, `softmax_accuracy` (with `softmax_baseline`),
        `examples`, and with `serve`: `export_path`, `served_equals_keras`,
        `served_tags`.
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    train_texts, train_tags = random_dates(n_train, rng)
    test_texts, test_tags = random_dates(n_test, rng)
    tokenize = Tokenize()
    train_ids = np.asarray(tokenize(tf.constant(train_texts)))
    test_ids = np.asarray(tokenize(tf.constant(test_texts)))

    tagger = CRFModelWrapper(base_model(units), len(TAGS))
    tagger.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2))
    start = time.perf_counter()
    tagger.fit(train_ids, train_tags, epochs=epochs, batch_size=batch_size, verbose=verbose)
    results = {"train_seconds": time.perf_counter() - start}
    # Called directly: one eager pass over five steps is cheaper than tracing predict.
    decoded = np.asarray(tagger(test_ids))
    results["crf_accuracy"] = tag_accuracy(decoded, test_tags)
    results["crf_exact_match"] = float(
        np.mean(np.all((decoded == test_tags) | (test_tags == PAD), axis=1))
    )

    path = os.path.join(output_dir, "crf_tagger.keras")
    tagger.save(path)
    reloaded = keras.models.load_model(path)  # no custom_objects
    results["reloaded_equals_keras"] = bool(np.array_equal(np.asarray(reloaded(test_ids)), decoded))

    if softmax_baseline:
        softmax = keras.Sequential(
            [base_model(units), keras.layers.Dense(len(TAGS), activation="softmax")]
        )
        softmax.compile(
            optimizer=keras.optimizers.Adam(learning_rate=1e-2),
            loss="sparse_categorical_crossentropy",
        )
        softmax.fit(train_ids, train_tags, epochs=epochs, batch_size=batch_size, verbose=verbose)
        predicted = np.argmax(softmax.predict(test_ids, batch_size=256, verbose=0), axis=-1)
        results["softmax_accuracy"] = tag_accuracy(predicted, test_tags)

    serving = serving_model(tokenize, reloaded)
    queries = test_texts[:20]
    keras_tags = [s.decode() for s in np.asarray(serving(tf.constant(queries)))]
    results["examples"] = list(zip(queries[:5], keras_tags[:5]))
    if serve:
        results.update(_export_and_serve(serving, output_dir, queries, keras_tags))
    return results


def serving_model(tokenize, tagger):
    texts = keras.Input(shape=(), dtype="string", name="dates")
    tags = TagNames(name="tags")(tagger(tokenize(texts)))
    return keras.Model(texts, tags, name="date_tagger")


def _export_and_serve(model, output_dir, queries, keras_tags):
    from tfx_ext.export import export_for_serving
    from tfx_ext.serving import LocalModelServer, RestClient

    base = os.path.join(output_dir, "models")
    path = export_for_serving(model, base, "date_tags", input_names="dates", output_names="tags")
    port = _free_port()
    with LocalModelServer(base, rest_port=port, grpc_port=0):
        client = RestClient("127.0.0.1", port, "date_tags")
        for _ in range(100):  # the server loads the version in the background
            try:
                served = client.predict(np.array(queries, dtype=object))
                break
            except Exception:  # noqa: BLE001 (any failure while the server loads: retry)
                time.sleep(0.2)
        else:
            raise RuntimeError("the local server did not serve the exported model")
    served = [
        s.decode() if isinstance(s, bytes) else str(s) for s in np.asarray(served).reshape(-1)
    ]
    return {
        "export_path": path,
        "served_tags": list(zip(queries, served)),
        "served_equals_keras": served == keras_tags,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--train-size", type=int, default=4000)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()
    output_dir = args.output_dir or tempfile.mkdtemp(prefix="crf_tagging_")
    results = run(output_dir, epochs=args.epochs, n_train=args.train_size, verbose=2)
    print(
        f"BiLSTM-CRF token accuracy: {results['crf_accuracy']:.2%} "
        f"(exact match {results['crf_exact_match']:.2%}, training {results['train_seconds']:.0f} s)"
    )
    print(f"softmax tagger token accuracy: {results['softmax_accuracy']:.2%}")
    print(f"reloaded .keras == Keras: {results['reloaded_equals_keras']}")
    for text, tags in results["examples"]:
        print(f"  {text!r} -> {tags}")
    print(f"exported: {results['export_path']}; served == Keras: {results['served_equals_keras']}")


if __name__ == "__main__":
    main()
