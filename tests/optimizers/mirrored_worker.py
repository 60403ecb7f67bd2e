"""Run in a fresh process by test_optimizers_in_training.py: Lookahead(RAdam) and
SWA(Yogi) in the Trainer on two mirrored logical CPUs against one device.

Logical CPUs must be configured before TensorFlow initializes, hence a
separate process. Prints one JSON object: the largest weight difference per
optimizer.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def train(strategy, make_optimizer, x, y):
    from tfx_ext.optimizers import SWA
    from tfx_ext.training import Trainer

    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(4, activation="relu"),
                keras.layers.Dense(2),
            ]
        )
        optimizer = make_optimizer()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    trainer = Trainer(model, loss, optimizer, strategy=strategy)
    trainer.fit((x, y), epochs=2, batch_size=16, shuffle=False, verbose=0)
    if isinstance(trainer.optimizer, SWA):
        trainer.optimizer.assign_average_vars(model.trainable_variables)
    return [v.numpy() for v in model.trainable_variables]


def main():
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfx_ext.optimizers import SWA, Lookahead, RectifiedAdam, Yogi

    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 8)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int32")
    makers = {
        "ranger": lambda: Lookahead(RectifiedAdam(1e-2), sync_period=3),
        "swa_yogi": lambda: SWA(Yogi(), start_averaging=1, average_period=2),
    }
    differences = {}
    for name, make in makers.items():
        one = train(tf.distribute.get_strategy(), make, x, y)
        two = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), make, x, y)
        differences[name] = max(float(np.max(np.abs(a - b))) for a, b in zip(one, two))
    print(json.dumps(differences))


if __name__ == "__main__":
    main()
