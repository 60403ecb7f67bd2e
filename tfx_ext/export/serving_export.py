"""SavedModel export for TF Serving: named signatures, atomic versions, warmup."""

import json
import os
import re
import shutil
import time
import warnings

import keras

from tfx_ext._core.arguments import check_data, check_int, invalid
from tfx_ext._core.model_graphs import check_graph_model
from tfx_ext._core.predictions import is_classifier_model
from tfx_ext._core.private_api import graph_output_names
from tfx_ext._core.serving_methods import CLASSIFY_METHOD, REGRESS_METHOD
from tfx_ext.export import versions as versions_lib

EXPORT_INFO = "tfx_ext_export.json"


def _tensor_names(names, defaults, what):
    if names is None:
        return defaults
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != len(defaults):
        raise invalid(f"{what}_names", f"{len(defaults)} name(s), one per model {what}", names)
    for name in names:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-/]*", name):
            raise invalid(
                f"{what}_names", "names made of letters, digits, '_', '.', '-' or '/'", names
            )
    return names


def _default_input_names(model):
    names = [t.name for t in model.inputs]
    if any(n.startswith("keras_tensor") for n in names):  # Sequential: no named InputLayer
        return ["inputs"] if len(names) == 1 else [f"input_{i}" for i in range(len(names))]
    return names


def _default_output_names(model):
    names = getattr(model, "output_names", None)
    if names is None:
        names = graph_output_names(model)
    if not names:
        names = (
            ["outputs"]
            if len(model.outputs) == 1
            else [f"output_{i}" for i in range(len(model.outputs))]
        )
    return list(names)


def _patch_method_names(saved_model_dir, methods):
    """TF2 saves every signature as a predict signature; TF Serving's Classify and
    Regress APIs check the method name, so set it in saved_model.pb."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(saved_model_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        proto.ParseFromString(f.read())
    for meta_graph in proto.meta_graphs:
        for key, method in methods.items():
            if key in meta_graph.signature_def:
                meta_graph.signature_def[key].method_name = method
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def export_for_serving(
    model,
    base_dir,
    model_name,
    version=None,
    input_names=None,
    output_names=None,
    preprocessing=None,
    example_spec=None,
    warmup_data=None,
    mc_samples=None,
    serving_image=None,
):
    """Exports `model` as a new TF Serving version, atomically.

    Writes `base_dir/model_name/<version>/` (the next integer when `version`
    is None) by exporting into a sibling whose name is not an integer (TF
    Serving skips those) and renaming it into place; an existing version is
    never overwritten.

    Signatures:

    - `serving_default`: the caller's input and output names (by default the
      model's own input and output layer names, never `keras_tensor` /
      `output_0`); classifiers (softmax output) also output `class_ids`
      (int64) and `probabilities`.
    - `classify` and `regress` when `example_spec` is given: TF Serving's
      Classify / Regress form — one string input `inputs` of shape `[None]`
      holding serialized `tf.train.Example`s — with outputs `classes` and
      `scores` (classify, classifiers only) or `outputs` (regress); their
      method names are set so `:classify` and `:regress` work.
    - `mc_uncertainty` when `mc_samples` is given: `mean` and `std` over
      `mc_samples` MC Dropout passes (dropout layers switched to their MC
      twins), computed in one vectorized pass.

    With `warmup_data`, `assets.extra/tf_serving_warmup_requests` holds up to
    1000 `PredictionLog` records (one request per row of `warmup_data`), and
    each is replayed against the exported model before the rename — TF
    Serving refuses a whole version when one warmup record fails.
    `assets.extra/tfx_ext_export.json` records the TensorFlow, Keras and
    tfx_ext versions that exported it.

    Args:
        model: A Keras 3 model with one input (or several, with `input_names`).
        base_dir: The models directory TF Serving watches.
        model_name: The model's name (a directory under `base_dir`).
        version: A positive integer, or None for the next one.
        input_names, output_names: Signature tensor names.
        preprocessing: Optional Keras model applied to the raw inputs first
            (baked into every signature).
        example_spec: `{feature_name: tf.io.FixedLenFeature}` for the
            classify/regress signatures; with one feature it is the model
            input, with several they are concatenated on the last axis in
            the given order.
        warmup_data: Optional array of example inputs for warmup requests.
        mc_samples: Optional number of MC Dropout samples for `mc_uncertainty`.
        serving_image: Optional `tensorflow/serving:<tag>` the deployment
            uses; a warning says when it is older than this TensorFlow
            (version skew gives "Op type not registered").

    Returns:
        The path of the new version directory.

    Example:

    >>> export_for_serving(model, "models", "digits", warmup_data=x_test[:20])
    'models/digits/1'
    """
    import tensorflow as tf

    warmup_data, version, mc_samples = _check_export_arguments(
        model,
        base_dir,
        model_name,
        version,
        preprocessing,
        warmup_data,
        mc_samples,
        serving_image,
        tf,
    )
    input_names = _tensor_names(input_names, _default_input_names(model), "input")
    output_names = _tensor_names(output_names, _default_output_names(model), "output")
    classifier = is_classifier_model(model)
    if example_spec is not None and len(model.inputs) != 1:
        raise invalid("example_spec", "a spec for a single-input model", example_spec)
    input_specs = _input_specs(tf, model if preprocessing is None else preprocessing, input_names)

    def forward(inputs, net=model):
        if preprocessing is not None:
            inputs = preprocessing(inputs, training=False)
        return net(inputs, training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    if preprocessing is not None:
        archive.track(preprocessing)
    _add_serving_default(archive, tf, forward, input_specs, output_names, classifier)
    methods = {}
    if example_spec is not None:
        methods = _add_example_endpoint(archive, tf, forward, input_specs, example_spec, classifier)
    if mc_samples is not None:
        _add_mc_endpoint(archive, tf, model, forward, input_specs, mc_samples)
    return _write_version(
        archive, tf, base_dir, model_name, version, methods, input_names, warmup_data
    )


def _check_export_arguments(
    model, base_dir, model_name, version, preprocessing, warmup_data, mc_samples, image, tf
):
    """Step 1: the arguments checked; returns the checked `(warmup_data, version, mc_samples)`."""
    if not isinstance(model, keras.Model):
        raise invalid("model", "a Keras 3 model", model, TypeError)
    if not isinstance(base_dir, (str, os.PathLike)) or not str(base_dir):
        raise invalid("base_dir", "the models directory (a path)", base_dir, TypeError)
    if os.path.exists(base_dir) and not os.path.isdir(base_dir):
        raise invalid("base_dir", "a directory", str(base_dir))
    # A subclassed model has no `inputs` to name the signature's tensors after.
    check_graph_model("model", model, "export_for_serving")
    if preprocessing is not None and not isinstance(preprocessing, keras.Model):
        raise invalid(
            "preprocessing", "a Keras model applied to the raw inputs", preprocessing, TypeError
        )
    numeric_input = len(model.inputs) == 1 and "string" not in str(model.inputs[0].dtype)
    if (
        warmup_data is not None
        and preprocessing is None
        and numeric_input
        and not isinstance(warmup_data, dict)
    ):
        # Empty or NaN rows would be exported as warmup; shapes are left to the
        # replay, which names the failing record.
        warmup_data = check_data("warmup_data", warmup_data)
    if not isinstance(model_name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", model_name):
        raise invalid("model_name", "a name of letters, digits, '_', '.' or '-'", model_name)
    if version is not None:
        version = check_int("version", version, minimum=1)
    if mc_samples is not None:
        mc_samples = check_int("mc_samples", mc_samples, minimum=2)
    if image is not None:
        _warn_on_version_skew(image, tf.__version__)
    return warmup_data, version, mc_samples


def _input_specs(tf, entry_model, input_names):
    """Step 2: the signature's inputs, after the model (or the preprocessing that feeds it)."""
    return [
        tf.TensorSpec((None,) + tuple(t.shape[1:]), dtype=t.dtype, name=name)
        for t, name in zip(entry_model.inputs, input_names)
    ]


def _add_serving_default(archive, tf, forward, input_specs, output_names, classifier):
    """Step 3: the Predict signature, with `class_ids` and `probabilities` for a classifier."""

    def named_outputs(outputs):
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        result = dict(zip(output_names, outputs))
        if classifier:
            result["class_ids"] = tf.argmax(outputs[0], axis=-1)
            result["probabilities"] = outputs[0]
        return result

    def serving_default(*inputs):
        return named_outputs(forward(inputs[0] if len(inputs) == 1 else list(inputs)))

    archive.add_endpoint("serving_default", serving_default, input_specs)


def _add_example_endpoint(archive, tf, forward, input_specs, example_spec, classifier):
    """Step 4: a Classify (classifier) or Regress signature reading serialized `tf.Example`s."""
    feature_names = list(example_spec)

    def parse(serialized):
        features = tf.io.parse_example(serialized, example_spec)
        values = [tf.cast(features[name], input_specs[0].dtype) for name in feature_names]
        value = values[0] if len(values) == 1 else tf.concat(values, axis=-1)
        return tf.reshape(value, [-1] + list(input_specs[0].shape[1:]))

    example_input = [tf.TensorSpec([None], tf.string, name="inputs")]
    if classifier:

        def classify(serialized):
            scores = forward(parse(serialized))
            classes = tf.as_string(tf.range(tf.shape(scores)[-1], dtype=tf.int64))
            return {"classes": tf.tile(classes[None], [tf.shape(scores)[0], 1]), "scores": scores}

        archive.add_endpoint("classify", classify, example_input)
        return {"classify": CLASSIFY_METHOD}

    def regress(serialized):
        return {"outputs": tf.reshape(forward(parse(serialized)), [-1])}

    archive.add_endpoint("regress", regress, example_input)
    return {"regress": REGRESS_METHOD}


def _add_mc_endpoint(archive, tf, model, forward, input_specs, mc_samples):
    """Step 5: the `mc_uncertainty` signature (mean and std of `mc_samples` MC Dropout passes)."""
    from tfx_ext.uncertainty import enable_mc_dropout, mc_layers
    from tfx_ext.uncertainty.mc_sampling import repeated_forward

    mc_model = enable_mc_dropout(model)
    if not mc_layers(mc_model):
        raise invalid(
            "mc_samples", "None for a model without dropout (MC would give zero std)", mc_samples
        )
    archive.track(mc_model)

    def mc_uncertainty(*inputs):
        samples = repeated_forward(
            lambda tiled: forward(tiled, net=mc_model), inputs[0], mc_samples
        )
        mean, variance = tf.nn.moments(samples, axes=[0])
        return {"mean": mean, "std": tf.sqrt(variance)}

    if len(input_specs) != 1:
        raise invalid("mc_samples", "None for a multi-input model", mc_samples)
    archive.add_endpoint("mc_uncertainty", mc_uncertainty, input_specs)


def _write_version(archive, tf, base_dir, model_name, version, methods, input_names, warmup_data):
    """Step 6: written to a staging sibling, warmup replayed, then renamed into place."""
    model_dir = os.path.join(base_dir, model_name)
    if version is None:
        version = versions_lib.next_version(model_dir)
    if os.path.exists(os.path.join(model_dir, str(version))):
        raise FileExistsError(
            f"Version {version} of {model_dir} already exists: a served version is never overwritten."
        )
    staged = versions_lib.staging_dir(model_dir, version)
    try:
        archive.write_out(staged, verbose=False)
        if methods:
            _patch_method_names(staged, methods)
        extra = os.path.join(staged, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        with open(os.path.join(extra, EXPORT_INFO), "w") as f:
            json.dump(_export_info(tf), f, indent=2)
        if warmup_data is not None:
            from tfx_ext.export.warmup import replay_warmup, write_warmup

            write_warmup(extra, model_name, input_names, warmup_data)
            replay_warmup(staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return versions_lib.publish(staged, model_dir, version)


def _export_info(tf):
    import tfx_ext

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tfx_ext": tfx_ext.__version__,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _version_tuple(text):
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _warn_on_version_skew(serving_image, tf_version):
    tag = serving_image.rsplit(":", 1)[-1] if ":" in serving_image else "latest"
    served, exported = _version_tuple(tag), _version_tuple(tf_version)
    if served is not None and exported is not None and served < exported:
        warnings.warn(
            f"The deployment runs {serving_image}, older than the TensorFlow {tf_version} that "
            "exports this model: ops added since may fail to load ('Op type not registered'). "
            f"Use tensorflow/serving:{exported[0]}.{exported[1]}.0 or newer.",
            stacklevel=4,
        )
