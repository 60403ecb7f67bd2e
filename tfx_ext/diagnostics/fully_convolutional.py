"""Dense head to convolutions: a fully convolutional twin of a CNN ("Hands-On ML" ch. 14)."""

import keras

from tfx_ext._core.arguments import invalid
from tfx_ext._core.model_graphs import assign_weights, check_graph_model, fresh_copy

_SPATIAL_SAFE = (
    keras.layers.Dropout,
    keras.layers.AlphaDropout,
    keras.layers.Activation,
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
)


def dense_head_to_convolutions(model):
    """Turns a CNN's `Flatten` + `Dense` head into convolutions with the same weights.

    The first Dense after `Flatten` becomes a convolution whose kernel covers
    the whole feature map it saw ("valid" padding), the next Dense layers
    become 1x1 convolutions. On images of the training size the new model
    outputs the same values with shape `(batch, 1, 1, units)`; on larger
    images it slides the classifier and outputs a grid of predictions.

    Args:
        model: A Sequential (or chain-shaped functional) channels-last CNN
            whose head is `Flatten` then `Dense` layers (Dropout and
            activation layers in between are kept).

    Returns:
        A new Sequential model taking images of any height and width.

    Example:

    >>> fcn = dense_head_to_convolutions(cnn)          # cnn trained on 8x8 digits
    >>> fcn.predict(np.zeros((1, 16, 16, 1))).shape    # a 5x5 grid of predictions
    (1, 5, 5, 10)
    """
    check_graph_model("model", model, "dense_head_to_convolutions")
    layers = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    branching = [l.name for l in layers if isinstance(l.input, (list, tuple)) and len(l.input) > 1]
    if branching:
        raise invalid(
            "model",
            "a chain of layers (no merges or skip connections)",
            f"merging layers {branching}",
        )
    flatten_at = next(
        (i for i, l in enumerate(layers) if isinstance(l, keras.layers.Flatten)), None
    )
    if flatten_at is None:
        raise invalid("model", "a CNN with a Flatten + Dense head", "a model without Flatten")
    body, head = layers[:flatten_at], layers[flatten_at + 1 :]
    if not any(isinstance(l, keras.layers.Dense) for l in head):
        raise invalid("model", "Dense layers after Flatten", [type(l).__name__ for l in head])
    for layer in head:
        if not isinstance(layer, (keras.layers.Dense,) + _SPATIAL_SAFE):
            raise invalid(
                "model",
                "only Dense, Dropout, normalization or Activation layers after Flatten",
                layer.name,
            )
    feature_shape = tuple(layers[flatten_at].input.shape[1:])
    if len(feature_shape) != 3 or None in feature_shape:
        raise invalid(
            "model", "a channels-last 2D feature map of known size before Flatten", feature_shape
        )
    channels_in = model.inputs[0].shape[-1]

    new_layers = [keras.Input((None, None, channels_in))]
    copies = []
    for layer in body:
        copy = fresh_copy(layer)
        new_layers.append(copy)
        copies.append((layer, copy, None))
    first_dense = True
    for layer in head:
        if isinstance(layer, keras.layers.Dense):
            kernel, *rest = layer.get_weights()
            if first_dense:
                height, width, channels = feature_shape
                size = (height, width)
                kernel = kernel.reshape(height, width, channels, layer.units)
                first_dense = False
            else:
                size = (1, 1)
                kernel = kernel.reshape(1, 1, *kernel.shape)
            conv = keras.layers.Conv2D(
                layer.units,
                size,
                padding="valid",
                activation=layer.activation,
                use_bias=layer.use_bias,
                name=f"{layer.name}_as_conv",
            )
            new_layers.append(conv)
            copies.append((layer, conv, [kernel] + rest))
        else:
            copy = fresh_copy(layer)
            new_layers.append(copy)
            copies.append((layer, copy, None))
    fcn = keras.Sequential(new_layers, name=f"{model.name}_fcn")
    for original, copy, weights in copies:
        assign_weights(copy, weights if weights is not None else original.get_weights())
    return fcn
