"""The metadata JSON of TF Serving's testdata (`half_plus_two_model_metadata.json`,
`saved_model_half_plus_two_2_versions_metadata.json`), written out as a table:
expected values carried over from the peer."""


def _tensor_json(name, dtype, dims):
    shape = {
        "dim": [{"size": str(d), "name": ""} for d in dims or []],
        "unknown_rank": dims is None,
    }
    return {"dtype": dtype, "tensor_shape": shape, "name": name}


def _signature_json(inputs, outputs, method):
    return {
        "inputs": {k: _tensor_json(*v) for k, v in inputs.items()},
        "outputs": {k: _tensor_json(*v) for k, v in outputs.items()},
        "method_name": method,
        "defaults": {},
    }


def half_plus_two_signatures(classify_x2=False):
    """The signature_def of TF Serving's half_plus_two metadata files
    (half_plus_two_model_metadata.json, saved_model_half_plus_two_2_versions_metadata.json)."""
    column = [-1, 1]
    examples = ("tf_example:0", "DT_STRING", None)
    signatures = {
        "regress_x2_to_y3": _signature_json(
            {"inputs": ("x2:0", "DT_FLOAT", column)},
            {"outputs": ("y3:0", "DT_FLOAT", column)},
            "tensorflow/serving/regress",
        ),
        "serving_default": _signature_json(
            {"x": ("x:0", "DT_FLOAT", column)},
            {"y": ("y:0", "DT_FLOAT", column)},
            "tensorflow/serving/predict",
        ),
        "classify_x_to_y": _signature_json(
            {"inputs": examples},
            {"scores": ("y:0", "DT_FLOAT", column)},
            "tensorflow/serving/classify",
        ),
        "regress_x_to_y2": _signature_json(
            {"inputs": examples},
            {"outputs": ("y2:0", "DT_FLOAT", column)},
            "tensorflow/serving/regress",
        ),
        "regress_x_to_y": _signature_json(
            {"inputs": examples},
            {"outputs": ("y:0", "DT_FLOAT", column)},
            "tensorflow/serving/regress",
        ),
    }
    if classify_x2:
        signatures["classify_x2_to_y3"] = _signature_json(
            {"inputs": ("x2:0", "DT_FLOAT", column)},
            {"scores": ("y3:0", "DT_FLOAT", column)},
            "tensorflow/serving/classify",
        )
    return signatures


def half_plus_two_model_metadata(name="default", classify_x2=False):
    return {
        "model_spec": {"name": name, "signature_name": "", "version": "123"},
        "metadata": {"signature_def": {"signature_def": half_plus_two_signatures(classify_x2)}},
    }
