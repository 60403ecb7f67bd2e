"""Small models for the training-loop tests, seeded so two builds are identical."""

import socket

import keras


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlp(seed=0, regularizer="l2", dropout=0.0, inputs=64, classes=10):
    """Dense(32, relu, L2) [-> Dropout] -> Dense(classes, softmax)."""
    keras.utils.set_random_seed(seed)
    layers = [
        keras.Input((inputs,)),
        keras.layers.Dense(32, activation="relu", kernel_regularizer=regularizer, name="hidden"),
    ]
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="dropout"))
    layers.append(keras.layers.Dense(classes, activation="softmax", name="output"))
    return keras.Sequential(layers, name="mlp")


def wide_and_deep(seed=0, inputs=64, classes=10, dropout=0.2):
    """The book's Wide & Deep (ch. 10/12): a linear 'wide' path added to a deep one.

    Variable paths: wide/*, deep_1/*, deep_2/*, deep_out/*.
    """
    keras.utils.set_random_seed(seed)
    x = keras.Input((inputs,), name="features")
    wide = keras.layers.Dense(classes, name="wide")(x)
    h = keras.layers.Dense(32, activation="relu", name="deep_1")(x)
    h = keras.layers.Dropout(dropout, name="deep_dropout")(h)
    h = keras.layers.Dense(32, activation="relu", name="deep_2")(h)
    deep = keras.layers.Dense(classes, name="deep_out")(h)
    logits = keras.layers.Add(name="wide_plus_deep")([wide, deep])
    probabilities = keras.layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(x, probabilities, name="wide_and_deep")


def wide_and_deep_trainer(
    directory=None,
    seed=0,
    dropout=0.3,
    checkpoint_every=None,
    keep_checkpoints=3,
    steps_per_execution=1,
):
    """`wide_and_deep` with dropout under a Trainer: SGD with momentum (wide), Nadam (deep)."""
    from tfx_ext.training import Trainer

    return Trainer(
        wide_and_deep(seed=seed, dropout=dropout),
        "sparse_categorical_crossentropy",
        optimizer={
            "wide/.*": keras.optimizers.SGD(0.05, momentum=0.9),
            "deep_.*/.*": keras.optimizers.Nadam(2e-3),
        },
        metrics=["accuracy"],
        checkpoint_dir=directory,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=keep_checkpoints,
        steps_per_execution=steps_per_execution,
    )
