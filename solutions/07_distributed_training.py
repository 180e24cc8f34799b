"""Solutions to the exercises (확인 문제) of lesson 07, notebooks/07_distributed_training.ipynb.

Run ``python solutions/07_distributed_training.py`` to check them all (TensorFlow backend).
"""

import tensorflow as tf

from keraslab.models import get_mnist_model

# 07.1: 64 samples per replica x 4 replicas.
global_batch = 256

# 07.2: four per-replica means, summed, are 4 times the mean over the global batch, so the SGD updates are
# 4 times too large; SGD's step is linear in the learning rate, so a learning rate 1/4 as large cancels it.
lr_scale = 0.25


# 07.3
def make_model(strategy):
    """Create and compile the model under the strategy's scope, so its variables are mirrored."""
    with strategy.scope():
        model = get_mnist_model()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# 07.4
def average_loss(per_example_losses, global_batch_size):
    """This replica's share of the mean loss over the global batch."""
    return tf.nn.compute_average_loss(per_example_losses, global_batch_size=global_batch_size)


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_07_global_batch(global_batch)
    exercises.check_07_lr_scale(lr_scale)
    exercises.check_07_model_in_scope(make_model)
    exercises.check_07_average_loss(average_loss)
