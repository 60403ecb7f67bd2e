"""The serialization test kit: every public component goes through it.

- `assert_config_round_trip`: `get_config`/`from_config`, and the registered
  name through `keras.saving.serialize_keras_object`/`deserialize_keras_object`
  (the path `load_model` takes).
- `assert_model_round_trip`: a model using the component survives `.keras`
  save/load with no `custom_objects` (same outputs, same compiled loss and
  metrics), and SavedModel export (`model.export`) + `tf.saved_model.load`
  (same outputs). The SavedModel leg runs on the TensorFlow backend only:
  export for TF Serving is TensorFlow-only (see README, "Backends").
"""

import copy
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


def assert_config_round_trip(test, obj):
    """Checks `from_config(get_config())` and the registered-name path; returns the clone."""
    cls = type(obj)
    test.assertEqual(
        keras.saving.get_registered_name(cls),
        f"tfx_ext>{cls.__name__}",
        msg=f"{cls.__name__} is not registered under package 'tfx_ext'",
    )
    config = obj.get_config()
    clone = cls.from_config(copy.deepcopy(config))
    test.assertIs(type(clone), cls)
    test.assertEqual(clone.get_config(), config)

    serialized = keras.saving.serialize_keras_object(obj)
    test.assertEqual(serialized["registered_name"], f"tfx_ext>{cls.__name__}")
    restored = keras.saving.deserialize_keras_object(copy.deepcopy(serialized))
    test.assertIs(type(restored), cls)
    test.assertEqual(restored.get_config(), config)
    return clone


def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _compiled_objects(model):
    config = model.get_compile_config() or {}
    return config.get("loss"), config.get("metrics")


def assert_model_round_trip(test, model, x, y=None, atol=1e-6, saved_model=True):
    """Saves `model` as `.keras` and as a SavedModel; checks both reload to the same model.

    With `y` (a compiled model), `evaluate` must also give the same results
    after loading, which proves the loss and metrics came back with their
    state and configuration.

    Returns the model loaded from `.keras`.
    """
    expected = _outputs(model, x)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)  # deliberately no custom_objects
        test.assertAllClose(_outputs(loaded, x), expected, atol=atol)
        test.assertEqual(len(loaded.weights), len(model.weights))
        for restored, original in zip(loaded.weights, model.weights):
            test.assertAllEqual(np.asarray(restored), np.asarray(original))
        if y is not None:
            test.assertEqual(_compiled_objects(loaded), _compiled_objects(model))
            before = model.evaluate(x, y, verbose=0, return_dict=True)
            after = loaded.evaluate(x, y, verbose=0, return_dict=True)
            test.assertEqual(sorted(after), sorted(before))
            for name in before:
                test.assertAllClose(after[name], before[name], atol=1e-5, msg=name)

        if saved_model and keras.backend.backend() == "tensorflow":
            export_dir = os.path.join(tmp, "saved_model")
            model.export(export_dir, format="tf_saved_model", verbose=False)
            reloaded = tf.saved_model.load(export_dir)
            served = reloaded.serve(tf.constant(x))
            if isinstance(served, dict):
                served = next(iter(served.values()))
            test.assertAllClose(np.asarray(served), expected, atol=atol)
    return loaded
