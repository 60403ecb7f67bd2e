"""The check behind the Huber bug: a config must hold every constructor argument.

`keras.losses.Huber(delta)` saved as `.keras` comes back with `delta=1.0`
because its `get_config` omits `delta`; `keras.losses.Loss.get_config` omits
`dtype` too. `assert_config_keeps_every_argument` builds a component with a
non-default value for *every* constructor argument (it fails if the case
leaves one out, so a new argument cannot slip by), then checks that
`from_config(get_config())` holds the same values and computes the same
numbers.
"""

import copy
import inspect

import keras
import numpy as np


def constructor_arguments(cls):
    """Named constructor arguments of `cls` and their defaults (`inspect.Parameter.empty` if none)."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name: p.default
        for p in parameters
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _comparable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    return _comparable(keras.saving.serialize_keras_object(value))


def _same(a, b):
    """Equality that treats a number and its float32 (optimizers store float32
    variables), a tuple and its list, an object and its config alike."""
    a, b = _comparable(a), _comparable(b)
    numbers = (int, float)
    if all(isinstance(v, numbers) and not isinstance(v, bool) for v in (a, b)):
        return np.float32(a) == np.float32(b)
    return a == b


def assert_config_keeps_every_argument(test, cls, kwargs, compute=None, config_names=None):
    """Asserts that `cls(**kwargs)` survives `from_config(get_config())` whole.

    Args:
        test: The `tf.test.TestCase`.
        cls: The component class.
        kwargs: A value for every constructor argument, each different from its default.
        compute: Optional `compute(obj) -> array or nested arrays`; must agree
            between the original and the clone (dtype included).
        config_names: Optional `{argument: config key}` where they differ.

    Returns:
        The clone.
    """
    arguments = constructor_arguments(cls)
    missing = sorted(set(arguments) - set(kwargs))
    test.assertFalse(missing, f"{cls.__name__}: the case gives no value for {missing}")
    for name, default in arguments.items():
        if default is not inspect.Parameter.empty:
            test.assertFalse(
                _same(kwargs[name], default),
                f"{cls.__name__}: {name}={kwargs[name]!r} is the default; give another value",
            )
    obj = cls(**kwargs)
    config = obj.get_config()
    config_names = config_names or {}
    for name, value in kwargs.items():
        key = config_names.get(name, name)
        test.assertIn(
            key, config, f"{cls.__name__}.get_config() omits constructor argument `{name}`"
        )
        test.assertTrue(
            _same(config[key], value),
            f"{cls.__name__}.get_config()[{key!r}] = {config[key]!r}, constructed with {value!r}",
        )
    clone = cls.from_config(copy.deepcopy(config))
    test.assertIs(type(clone), cls)
    test.assertEqual(_comparable(clone.get_config()), _comparable(config))
    if compute is not None:
        expected, got = compute(obj), compute(clone)
        for e, g in zip(keras.tree.flatten(expected), keras.tree.flatten(got)):
            dtypes = [keras.backend.standardize_dtype(t.dtype) for t in (g, e)]
            test.assertEqual(dtypes[0], dtypes[1])
            test.assertAllClose(np.asarray(g), np.asarray(e), rtol=1e-6, atol=1e-7)
    return clone


def assert_table_covers(test, module, table, also_exempt=()):
    """Every public class of `module` has a case in `table` (a new component cannot skip the check)."""
    classes = {name for name in module.__all__ if inspect.isclass(getattr(module, name))}
    test.assertEqual(sorted(classes - set(also_exempt)), sorted(table))
