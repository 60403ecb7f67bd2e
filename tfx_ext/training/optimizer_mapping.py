"""Optimizers per part of a model, with every variable's owner explicit.

Keras 3.15 has `keras.optimizers.MultiOptimizer` (it replaces
`tfa.optimizers.MultiOptimizer`); we build on it. What we add is the check
Keras leaves out: its `OptimizerMap` silently sends an unmatched variable to a
default optimizer, so a typo in a pattern trains that part with the wrong
optimizer. `assign_optimizers` refuses a mapping that leaves a trainable
variable out or claims it twice, and names the variables.
"""

import re

import keras

from tfx_ext._core.arguments import invalid, invalid_prefix
from tfx_ext._core.private_api import distribution_strategy

_EXPECTED = (
    "a Keras optimizer, or a mapping from variable-path patterns (regular "
    "expressions matched in full against `variable.path`), layers, or tuples "
    "of those, to optimizers"
)


def _keys(key):
    return key if isinstance(key, tuple) else (key,)


def _check_mapping(mapping):
    """Returns the mapping as a list of (key, optimizer) pairs."""
    if isinstance(mapping, dict):
        items = list(mapping.items())
    else:
        items = list(mapping)
        if not all(isinstance(item, tuple) and len(item) == 2 for item in items):
            raise invalid("optimizer", _EXPECTED, mapping, TypeError)
    if not items:
        raise invalid("optimizer", _EXPECTED, mapping)
    for key, opt in items:
        if not isinstance(opt, keras.optimizers.Optimizer) or isinstance(
            opt, (keras.optimizers.MultiOptimizer, keras.optimizers.LossScaleOptimizer)
        ):
            raise invalid(
                "optimizer",
                "every value of the mapping to be a plain Keras optimizer "
                "(not a MultiOptimizer or LossScaleOptimizer)",
                opt,
                TypeError,
            )
        for part in _keys(key):
            if isinstance(part, str):
                try:
                    re.compile(part)
                except re.error as error:
                    raise invalid(
                        "optimizer",
                        f"valid regular expressions as keys ({error})",
                        part,
                    ) from None
            elif not isinstance(part, keras.layers.Layer):
                raise invalid(
                    "optimizer",
                    "keys that are variable-path patterns (str), layers, or tuples of those",
                    part,
                    TypeError,
                )
    return items


def _describe(key):
    parts = []
    for part in _keys(key):
        parts.append(repr(part) if isinstance(part, str) else f"layer {part.name!r}")
    return " | ".join(parts)


def assign_optimizers(mapping, variables):
    """Maps each trainable variable to exactly one optimizer of `mapping`.

    Args:
        mapping: A dict (or list of pairs) whose keys are variable-path
            patterns (matched with `re.fullmatch` against `variable.path`),
            layers (all their trainable variables) or tuples of those, and
            whose values are Keras optimizers. One optimizer may appear under
            several keys.
        variables: The trainable variables to assign.

    Returns:
        A dict from `variable.path` to optimizer, in `variables` order.

    Raises:
        ValueError: if a variable matches no key, or keys of two different
            optimizers, or if a key matches nothing (a stale pattern).
    """
    items = _check_mapping(mapping)
    layer_vars = {}
    for key, _ in items:
        for part in _keys(key):
            if isinstance(part, keras.layers.Layer):
                layer_vars[id(part)] = {id(v) for v in part.trainable_variables}
    owners = {}
    unowned, doubly = [], []
    used = [False] * len(items)
    for variable in variables:
        matched = []
        for index, (key, _opt) in enumerate(items):
            for part in _keys(key):
                if isinstance(part, str):
                    hit = re.fullmatch(part, variable.path) is not None
                else:
                    hit = id(variable) in layer_vars[id(part)]
                if hit:
                    matched.append(index)
                    used[index] = True
                    break
        optimizers = {id(items[i][1]) for i in matched}
        if not matched:
            unowned.append(variable.path)
        elif len(optimizers) > 1:
            keys = ", ".join(_describe(items[i][0]) for i in matched)
            doubly.append(f"{variable.path} (matched by {keys})")
        else:
            if variable.path in owners and owners[variable.path] is not items[matched[0]][1]:
                doubly.append(f"{variable.path} (two variables share this path)")
            owners[variable.path] = items[matched[0]][1]
    if unowned:
        raise ValueError(
            f"{invalid_prefix('optimizer')} The mapping leaves "
            f"{len(unowned)} trainable variable(s) without an optimizer: "
            f"{', '.join(unowned)}. Add a key for them (a pattern matched in full, "
            f"such as {unowned[0].rsplit('/', 1)[0] + '/.*'!r}, or the layer itself)."
        )
    if doubly:
        raise ValueError(
            f"{invalid_prefix('optimizer')} These trainable "
            "variables match keys of different optimizers: "
            f"{'; '.join(doubly)}. Make the keys disjoint."
        )
    stale = [_describe(items[i][0]) for i, hit in enumerate(used) if not hit]
    if stale:
        raise ValueError(
            f"{invalid_prefix('optimizer')} These keys match "
            f"no trainable variable: {', '.join(stale)}. Trainable variable "
            f"paths are: {', '.join(v.path for v in variables)}."
        )
    return owners


def _under(optimizer, strategy, copies):
    """`optimizer`, or an unbuilt copy made under `strategy.scope()`.

    A Keras optimizer binds to the strategy current when it is constructed
    (its iteration counter is created then); one built outside the scope
    cannot update mirrored variables.
    """
    if strategy is None or distribution_strategy(optimizer, strategy) is strategy:
        return optimizer
    if optimizer.built:
        raise invalid(
            "optimizer",
            "an optimizer that is not built yet, or one created under `strategy.scope()`",
            optimizer,
        )
    if id(optimizer) not in copies:
        with strategy.scope():
            copies[id(optimizer)] = optimizer.__class__.from_config(optimizer.get_config())
    return copies[id(optimizer)]


def build_optimizer(optimizer, variables, strategy=None):
    """Returns one Keras optimizer for `variables`, built on them.

    A single optimizer is returned as is. A mapping becomes a
    `keras.optimizers.MultiOptimizer` over an `OptimizerMap` keyed by each
    variable's exact path (so it serializes, and nothing falls through to the
    map's default optimizer). Under a `strategy`, unbuilt optimizers created
    outside its scope are replaced by copies created inside it.
    """
    copies = {}
    if isinstance(optimizer, str):
        optimizer = keras.optimizers.get(optimizer)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = _under(optimizer, strategy, copies)
        if not optimizer.built:
            optimizer.build(variables)
        return optimizer
    if not isinstance(optimizer, (dict, list, tuple)):
        raise invalid("optimizer", _EXPECTED, optimizer, TypeError)
    owners = assign_optimizers(optimizer, variables)
    owners = {path: _under(opt, strategy, copies) for path, opt in owners.items()}
    first = next(iter(owners.values()))
    optimizer_map = keras.optimizers.OptimizerMap(
        default_optimizer=first, optimizer_map=dict(owners)
    )
    multi = keras.optimizers.MultiOptimizer(optimizer_map)
    multi.build(variables)
    return multi


def sub_optimizers(optimizer):
    """The optimizers that actually update variables (one unless Multi)."""
    if isinstance(optimizer, keras.optimizers.MultiOptimizer):
        return list(optimizer.optimizers)
    return [optimizer]
