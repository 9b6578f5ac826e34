"""Classification Accuracy Score (Ravuri & Vinyals 2019) for conditional models.

Train a classifier only on generated, labelled samples; report its accuracy
on real test data. Next to it, the same classifier trained on as many real
training images under the same budget gives the ceiling: a conditional model
whose samples carry the class information of real data scores near it.

The fit is a fixed-budget evaluation procedure (no checkpoints, no logging),
a documented sibling of the training loop: Adam on the cross-entropy of
`jaxgen.models.classifier.Classifier`, one jitted update per minibatch.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgen.models.classifier import Classifier, make_loss_fn


def fit_classifier(x: np.ndarray, y: np.ndarray, num_classes: int, key: jax.Array, epochs: int = 3,
                   batch_size: int = 128, lr: float = 2e-3):
    """(model, params) of a Classifier fitted to images x [N, H, W, C] in [0, 1] and labels y [N]."""
    model = Classifier(num_classes)
    n = len(x)
    batch_size = min(batch_size, n)
    steps_per_epoch = n // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"fit_classifier: {n} examples, need at least one batch")
    k_init, k_perm = jax.random.split(key)
    params = model.init(k_init, jnp.asarray(x[:1], jnp.float32))
    tx = optax.adam(optax.cosine_decay_schedule(lr, epochs * steps_per_epoch))
    opt_state = tx.init(params)
    loss_fn = make_loss_fn(model)

    @jax.jit
    def update(params, opt_state, xb, yb):
        grads, _ = jax.grad(loss_fn, has_aux=True)(params, {"x": xb, "label": yb}, None)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    for epoch in range(epochs):
        order = np.asarray(jax.random.permutation(jax.random.fold_in(k_perm, epoch), n))
        for i in range(steps_per_epoch):
            idx = order[i * batch_size:(i + 1) * batch_size]
            params, opt_state = update(params, opt_state, jnp.asarray(x[idx], jnp.float32), jnp.asarray(y[idx]))
    return model, params


def accuracy(model: Classifier, params, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
    apply = jax.jit(lambda p, xb: jnp.argmax(model.apply(p, xb)[0], -1))
    correct = 0
    for lo in range(0, len(x), batch_size):
        correct += int(np.sum(np.asarray(apply(params, jnp.asarray(x[lo:lo + batch_size], jnp.float32)))
                              == y[lo:lo + batch_size]))
    return correct / len(x)


def classification_accuracy_score(fake_x, fake_y, real_train_x, real_train_y, test_x, test_y, num_classes: int,
                                  key: jax.Array, epochs: int = 3) -> dict[str, float]:
    """CAS (train on generated, test on real) and the same fit on as many real images."""
    n = len(fake_x)
    if len(real_train_x) < n:
        raise ValueError(f"CAS: {n} generated images but only {len(real_train_x)} real training images for the "
                         "ceiling")
    k_fake, k_real, k_pick = jax.random.split(key, 3)
    model, params = fit_classifier(fake_x, fake_y, num_classes, k_fake, epochs)
    pick = np.asarray(jax.random.choice(k_pick, len(real_train_x), (n,), replace=False))
    model_r, params_r = fit_classifier(real_train_x[pick], real_train_y[pick], num_classes, k_real, epochs)
    return {"cas": accuracy(model, params, test_x, test_y),
            "cas_real_ceiling": accuracy(model_r, params_r, test_x, test_y)}
