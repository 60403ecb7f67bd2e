"""Pruning policies: which layers of a model `prune_low_magnitude` wraps.

Same names and meaning as tfmot's `PruningPolicy` and `PruneForLatencyOnXNNPack`.
"""

import keras

from tfx_ext._core.model_graphs import is_graph_model
from tfx_ext._core.model_graphs import producers as layer_producers


class PruningPolicy:
    """Chooses the layers to prune and checks that a model suits the policy.

    Subclass it and implement `allow_pruning(layer)` and
    `ensure_model_supports_pruning(model)`; pass an instance as
    `prune_low_magnitude(model, pruning_policy=...)`.
    """

    def allow_pruning(self, layer):
        """Whether `layer` gets a pruning wrapper."""
        raise NotImplementedError

    def ensure_model_supports_pruning(self, model):
        """Raises `ValueError` when `model` does not suit the policy."""
        raise NotImplementedError


def _graph(model):
    """(producers, consumers): dicts from each layer of `model` to its neighbours."""
    layers = list(model.layers)
    producers = {id(l): [] for l in layers}
    consumers = {id(l): [] for l in layers}
    if isinstance(model, keras.Sequential):
        chain = [l for l in layers]
        for before, after in zip(chain, chain[1:]):
            producers[id(after)].append(before)
            consumers[id(before)].append(after)
        return layers, producers, consumers
    known = {id(l) for l in layers}
    for layer in layers:
        for source in layer_producers(layer):
            if id(source) in known and source not in producers[id(layer)]:
                producers[id(layer)].append(source)
                consumers[id(source)].append(layer)
    return layers, producers, consumers


def _lookup(sources, stop, following):
    """Breadth-first from `sources` until `stop` layers; empty when a branch ends first."""
    to_visit = list(sources)
    seen = {id(l) for l in sources}
    found = []
    while to_visit:
        layer = to_visit.pop()
        if stop(layer):
            found.append(layer)
            continue
        after = following(layer)
        if not after:
            return []
        for nxt in after:
            if id(nxt) not in seen:
                seen.add(id(nxt))
                to_visit.append(nxt)
    return found


@keras.saving.register_keras_serializable(package="tfx_ext")
class PruneForLatencyOnXNNPack(PruningPolicy):
    """Prunes only the 1x1 `Conv2D` layers that XNNPACK's sparse kernels run.

    As tfmot's policy of the same name: the model must be a MobileNet-like
    image network that XNNPACK's sparse inference accepts end to end: a
    stem `ZeroPadding2D(1)` + `Conv2D` 3x3, stride 2, 3 input channels,
    "valid" padding on every input branch; a `GlobalAveragePooling2D(keepdims=True)`
    on every output branch; and between them only layers XNNPACK supports
    there (1x1 convolutions with stride 1, 3x3 or 5x5 depthwise
    convolutions, batch normalization, ReLU-like activations, Add,
    Multiply, ZeroPadding2D, Dropout, bilinear UpSampling2D). Convert with
    `tfx_ext.lite.convert(..., sparsity=True)` to keep the sparse weights.

    Example:

    >>> pruned = prune_low_magnitude(model, ConstantSparsity(0.8, 0),
    ...                              pruning_policy=PruneForLatencyOnXNNPack())
    """

    def allow_pruning(self, layer):
        """Only 1x1 `Conv2D` layers."""
        return isinstance(layer, keras.layers.Conv2D) and tuple(layer.kernel_size) == (1, 1)

    def _is_start(self, layer, producers):
        if not isinstance(layer, keras.layers.Conv2D) or type(layer) is not keras.layers.Conv2D:
            return False
        before = producers[id(layer)]
        return (
            tuple(layer.kernel.shape[:3]) == (3, 3, 3)
            and tuple(layer.strides) == (2, 2)
            and layer.padding.lower() == "valid"
            and len(before) == 1
            and isinstance(before[0], keras.layers.ZeroPadding2D)
            and tuple(map(tuple, before[0].padding)) == ((1, 1), (1, 1))
        )

    def _supported(self, layer, producers):
        from tfx_ext.sparsity.prune_low_magnitude import PruneLowMagnitude

        if isinstance(layer, PruneLowMagnitude):
            return self._supported(layer.layer, producers)
        simple = (
            keras.layers.Add,
            keras.layers.Multiply,
            keras.layers.ZeroPadding2D,
            keras.layers.ReLU,
            keras.layers.LeakyReLU,
            keras.layers.ELU,
            keras.layers.Dropout,
        )
        if isinstance(layer, simple):
            return True
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            padding = layer.padding.lower()
            before = producers[id(layer)]
            pad = (
                before[0]
                if len(before) == 1 and isinstance(before[0], keras.layers.ZeroPadding2D)
                else None
            )
            pad = tuple(map(tuple, pad.padding)) if pad is not None else None
            kernel, strides = tuple(layer.kernel_size), tuple(layer.strides)
            cases = (
                kernel == (3, 3) and strides == (1, 1) and padding == "same",
                kernel == (3, 3)
                and strides in ((1, 1), (2, 2))
                and padding == "valid"
                and pad == ((1, 1), (1, 1)),
                kernel == (5, 5) and strides == (1, 1) and padding == "same",
                kernel == (5, 5)
                and strides in ((1, 1), (2, 2))
                and padding == "valid"
                and pad == ((2, 2), (2, 2)),
            )
            return (
                layer.depth_multiplier == 1 and tuple(layer.dilation_rate) == (1, 1) and any(cases)
            )
        if isinstance(layer, keras.layers.Conv2D):
            return (
                layer.groups == 1
                and tuple(layer.dilation_rate) == (1, 1)
                and tuple(layer.kernel_size) == (1, 1)
                and tuple(layer.strides) == (1, 1)
            )
        if isinstance(layer, keras.layers.GlobalAveragePooling2D):
            return layer.keepdims
        if isinstance(layer, keras.layers.BatchNormalization):
            return layer.axis in (3, -1)
        if isinstance(layer, keras.layers.UpSampling2D):
            return layer.interpolation == "bilinear"
        if isinstance(layer, keras.layers.Activation):
            return getattr(layer.activation, "__name__", "") in (
                "relu",
                "relu6",
                "leaky_relu",
                "elu",
                "sigmoid",
            )
        return False

    def ensure_model_supports_pruning(self, model):
        """Raises `ValueError` unless XNNPACK's sparse inference can run `model` (see the class)."""
        if not is_graph_model(model, built=False):
            raise ValueError(
                "PruneForLatencyOnXNNPack needs a Sequential or functional model, not a subclassed one."
            )
        if not is_graph_model(model):
            raise ValueError("PruneForLatencyOnXNNPack needs a built model (give it an Input).")
        layers, producers, consumers = _graph(model)
        inputs = [l for l in layers if not producers[id(l)]]
        starts = _lookup(inputs, lambda l: self._is_start(l, producers), lambda l: consumers[id(l)])
        if not starts:
            raise ValueError(
                "Could not find `Conv2D 3x3` layer with stride 2x2, `input filters == 3` and `VALID` padding "
                "and preceding `ZeroPadding2D` with `padding == 1` in all input branches of the model"
            )
        outputs = [l for l in layers if not consumers[id(l)]]
        ends = _lookup(
            outputs,
            lambda l: isinstance(l, keras.layers.GlobalAveragePooling2D),
            lambda l: producers[id(l)],
        )
        if not ends:
            raise ValueError(
                "Could not find a `GlobalAveragePooling2D` layer in all output branches"
            )
        end_ids = {id(l) for l in ends}

        def check(layer):
            if id(layer) not in end_ids and not self._supported(layer, producers):
                raise ValueError(
                    f"Layer {type(layer).__name__} ('{layer.name}') is not supported for the "
                    f"{type(self).__name__} pruning policy"
                )
            return id(layer) in end_ids

        _lookup([c for s in starts for c in consumers[id(s)]], check, lambda l: consumers[id(l)])

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
