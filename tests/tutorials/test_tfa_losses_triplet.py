"""Replay of TFA's tutorial `losses_triplet.ipynb` with `import tfx_ext as tfa`.

MNIST through tensorflow_datasets (a download) is replaced by scikit-learn's
8x8 digits (pixels / 16, as the tutorial's / 255), batched by `tf.data` as
the tutorial does; the embedding is 64-d instead of 256-d for the small
images, and training runs 15 epochs instead of 5 (1,400 images, not 60,000).
The tutorial's last step writes `vecs.tsv`/`meta.tsv` for the
Embedding Projector; here the embeddings are checked instead: unit norm,
and same-digit clusters (nearest-neighbour accuracy on held-out digits).
"""

import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

import tfx_ext as tfa


class TripletLossTutorialTest(tf.test.TestCase):
    def test_embeddings_cluster_by_digit(self):
        keras.utils.set_random_seed(0)
        digits = load_digits()
        images = np.expand_dims(digits.images, -1).astype("uint8")
        labels = digits.target
        split = 1400

        def _normalize_img(img, label):
            img = tf.cast(img, tf.float32) / 16.0
            return (img, label)

        train_dataset = tf.data.Dataset.from_tensor_slices((images[:split], labels[:split]))
        train_dataset = train_dataset.shuffle(1024, seed=0).batch(32).map(_normalize_img)
        test_dataset = tf.data.Dataset.from_tensor_slices((images[split:], labels[split:]))
        test_dataset = test_dataset.batch(32).map(_normalize_img)

        model = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(filters=64, kernel_size=2, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(pool_size=2),
                keras.layers.Dropout(0.3),
                keras.layers.Conv2D(filters=32, kernel_size=2, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(pool_size=2),
                keras.layers.Dropout(0.3),
                keras.layers.Flatten(),
                keras.layers.Dense(64, activation=None),  # No activation on final dense layer
                keras.layers.Lambda(
                    lambda x: tf.math.l2_normalize(x, axis=1)
                ),  # L2 normalize embeddings
            ]
        )
        model.compile(optimizer=keras.optimizers.Adam(0.001), loss=tfa.losses.TripletSemiHardLoss())
        train_images = images[:split] / 16.0
        before = model.predict(train_images, verbose=0), model.predict(test_dataset, verbose=0)
        history = model.fit(train_dataset, epochs=15, verbose=0)
        results = model.predict(test_dataset, verbose=0)

        losses = history.history["loss"]
        self.assertLess(losses[-1], losses[0])
        self.assertEqual(results.shape, (len(labels) - split, 64))
        self.assertAllClose(np.linalg.norm(results, axis=1), np.ones(len(results)), atol=1e-5)

        def separation(train, test):
            """Nearest-neighbour accuracy, and mean other-digit over same-digit distance."""
            nearest = np.argmax(test @ train.T, axis=1)  # unit vectors: max cosine = min L2
            accuracy = np.mean(labels[:split][nearest] == labels[split:])
            distances = np.linalg.norm(test[:, None] - train[None], axis=-1)
            same = labels[split:][:, None] == labels[:split][None]
            return accuracy, distances[~same].mean() / distances[same].mean()

        accuracy, ratio = separation(model.predict(train_images, verbose=0), results)
        accuracy_before, ratio_before = separation(*before)
        self.assertGreater(accuracy, 0.9)  # chance is 0.1
        # Training made the clusters: same-digit embeddings much closer than other digits.
        self.assertGreater(ratio, 1.6 * ratio_before)
