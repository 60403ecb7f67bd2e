"""Converting a SavedModel directory that a user gives, checked against the SavedModel itself.

`TFLiteConverter.from_saved_model` on a directory written by
`tf.saved_model.save(keras3_model, path)` (Hands-On ML ch. 19's
`my_model/0001`) returns a model without its weights (a 2.8 kB file for a
6.6 kB model): its outputs are NaN or garbage, with no error. TensorFlow
itself serves that directory correctly, and the same model through
`model.export(format="tf_saved_model")` converts correctly: TF 2.21's
SavedModel importer does not find the variables of Keras 3's object graph
(kept under `_layers/<i>/_kernel`, where `model.export` lists them at the
root as `variables`). So the directory's float conversion is checked on a
probe batch against the SavedModel's own `serving_default`; when they differ
the directory is converted from its loaded signature instead
(`from_concrete_functions`, which reads the variables in Python), checked
again, and refused if it still differs. With TF Select ops allowed the probe
cannot run (LiteRT's interpreter has no Flex delegate), so such a directory
takes the signature route, which does not depend on the importer.
"""

import numpy as np

from tfx_ext._core.arguments import invalid

SIGNATURE = "serving_default"


def _signature(path):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    if SIGNATURE not in loaded.signatures:
        raise invalid(
            "model",
            f"a SavedModel with a '{SIGNATURE}' signature",
            f"signatures {list(loaded.signatures)}",
        )
    return loaded, loaded.signatures[SIGNATURE]


def input_spec(path):
    """(shape, dtype name) of the single input of the directory's serving signature."""
    _, signature = _signature(path)
    specs = list(signature.structured_input_signature[1].values())
    if len(specs) != 1:
        raise invalid(
            "model", f"a SavedModel whose {SIGNATURE} takes one input", f"{len(specs)} inputs"
        )
    return tuple(specs[0].shape), specs[0].dtype.name


def _probe(spec):
    """A fixed batch of 4 for the input spec: normal floats, small positive integers (ids), or zeros."""
    shape = [4] + [1 if size is None else size for size in spec.shape[1:]]
    rng = np.random.default_rng(0)
    if spec.dtype.is_floating:
        return rng.standard_normal(shape).astype(spec.dtype.as_numpy_dtype)
    if spec.dtype.is_integer:
        return rng.integers(1, 8, shape).astype(spec.dtype.as_numpy_dtype)
    return np.zeros(shape, spec.dtype.as_numpy_dtype)


def _tflite_outputs(content, probe):
    from tfx_ext.lite.interpreter import make_interpreter

    interpreter = make_interpreter(content)
    ((key, signature),) = interpreter.get_signature_list().items()
    (name,) = signature["inputs"]
    runner = interpreter.get_signature_runner(key)
    outputs = [runner(**{name: example[None]}) for example in probe]
    return {key: np.concatenate([out[key] for out in outputs]) for key in outputs[0]}


def _differences(expected, got):
    """Names of the outputs where the TFLite model is not the SavedModel (float32, same ops)."""
    if len(expected) == len(got) == 1:  # one output: its name may differ between routes
        got = {next(iter(expected)): next(iter(got.values()))}
    if sorted(expected) != sorted(got):
        return [f"outputs {sorted(got)} instead of {sorted(expected)}"]
    problems = []
    for key, reference in expected.items():
        value = np.asarray(got[key], np.float64).reshape(reference.shape)
        finite = np.isfinite(reference)
        if not finite.any():
            # Nothing to judge by: a route cannot be proven on this probe.
            problems.append(
                f"output '{key}' of the SavedModel itself is NaN/inf on the probe batch"
            )
            continue
        if not np.array_equal(np.isfinite(value), finite):
            problems.append(
                f"output '{key}' is NaN/inf in {int(np.sum(np.isfinite(value) != finite))} other places"
            )
            continue
        scale = max(1.0, float(np.abs(reference[finite]).max()))
        difference = np.abs(value[finite] - reference[finite])
        if not np.all(difference <= 1e-3 * scale):
            problems.append(f"output '{key}' (max difference {difference.max():.3g})")
    return problems


def directory_converter(path, convert_float, allow_select_tf_ops=False):
    """A function `() -> TFLiteConverter` for the directory, whose float conversion is proven.

    `convert_float(converter) -> bytes` runs the float32 conversion with the
    caller's options (ops sets); its results are checked on the probe.

    Raises:
        ValueError: Neither route gives the SavedModel's outputs.
    """
    import tensorflow as tf

    loaded, signature = _signature(path)
    (spec,) = signature.structured_input_signature[1].values()
    probe = _probe(spec)
    expected = {
        key: np.asarray(value, np.float64) for key, value in signature(tf.constant(probe)).items()
    }

    def from_directory():
        return tf.lite.TFLiteConverter.from_saved_model(str(path))

    def from_signature():
        # Keeps `loaded` alive: the concrete function reads its variables.
        return tf.lite.TFLiteConverter.from_concrete_functions([signature], loaded)

    if allow_select_tf_ops:
        return from_signature
    problems = {}
    for route, make in (
        ("from_saved_model", from_directory),
        ("from_concrete_functions", from_signature),
    ):
        problems[route] = _differences(expected, _tflite_outputs(convert_float(make()), probe))
        if not problems[route]:
            return make
    found = "; ".join(
        f"{route}: {', '.join(differences)}" for route, differences in problems.items()
    )
    raise ValueError(
        f"Converting the SavedModel '{path}' gives a TFLite model whose outputs are not the SavedModel's "
        f"on a probe batch ({found}). "
        "Convert the Keras model itself (tfx_ext.lite.convert(model)), or a directory written by "
        "model.export(path, format='tf_saved_model')."
    )
