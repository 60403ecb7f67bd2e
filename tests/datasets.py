"""Real data shipped with scikit-learn, loaded once per test session."""

import functools


@functools.lru_cache(maxsize=None)
def digits():
    """8x8 digits, standardized with the training split's statistics.

    Returns (x_train, y_train, x_test, y_test) as float32 / int32 arrays.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = data.data.astype("float32")
    y = data.target.astype("int32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=42, stratify=y
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


@functools.lru_cache(maxsize=None)
def diabetes():
    """Diabetes regression data, standardized; returns (x, y) float32 arrays."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    x = data.data.astype("float32")
    y = data.target.astype("float32")
    return (x - x.mean(0)) / x.std(0), (y - y.mean()) / y.std()
