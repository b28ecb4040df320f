"""Mistakes in cnn-from-scratch: the layers, the loss, the optimizer, the network, training."""

from mutants import Mutant

CONV, RELU, POOL, DENSE, SOFTMAX, SGD, NET, TRAIN = (
    "conv-solution",
    "relu-solution",
    "maxpool-solution",
    "dense-solution",
    "softmax-solution",
    "sgd-solution",
    "network-solution",
    "train-solution",
)
SOFTMAX_SHIFT = "    shifted = logits - logits.max(axis=1, keepdims=True)\n    e = np.exp(shifted)"

MUTANTS = [
    Mutant(
        "conv-forgets-bias",
        "never adds the bias",
        {
            CONV: [
                (
                    "y = np.matmul(w.reshape(f, -1), cols) + b[None, :, None]",
                    "y = np.matmul(w.reshape(f, -1), cols)",
                )
            ]
        },
        "a bias?",
        {"conv-forward", "conv-forward-hidden"},
    ),
    Mutant(
        "conv-backward-db-first-image",
        "db from the first image only: the batch is not summed",
        {CONV: [("db = dy_flat.sum(axis=(0, 2))", "db = dy_flat[0].sum(axis=1)")]},
        "sum over every image and position",
        {"conv-backward", "conv-backward-hidden"},
        hidden_passes="N = 1",
    ),
    Mutant(
        "conv-backward-dw-first-image",
        "dw from the first image only: the batch is not summed",
        {
            CONV: [
                (
                    "dw = np.tensordot(dy_flat, cols, axes=([0, 2], [0, 2])).reshape(w.shape)",
                    "dw = np.tensordot(dy_flat[0], cols[0], axes=([1], [1])).reshape(w.shape)",
                )
            ]
        },
        "sum over every image and position",
        {"conv-backward", "conv-backward-hidden"},
        hidden_passes="N = 1",
    ),
    Mutant(
        "relu-backward-looks-at-dy",
        "blocks the gradient where dy <= 0 instead of where x <= 0",
        {RELU: [("return dy * (x > 0)", "return dy * (dy > 0)")]},
        "blocked where x <= 0",
        {"relu", "relu-hidden"},
    ),
    Mutant(
        "relu-backward-passes-zero",
        "lets the gradient through where x == 0",
        {RELU: [("return dy * (x > 0)", "return dy * (x >= 0)")]},
        "blocked where x <= 0",
        {"relu", "relu-hidden"},
    ),
    Mutant(
        "maxpool-backward-ties-to-last",
        "on ties, the last maximum gets the gradient",
        {
            POOL: [
                (
                    "first = windows.reshape(n, c, h // 2, w // 2, 4).argmax(axis=-1)",
                    "first = 3 - windows.reshape(n, c, h // 2, w // 2, 4)[..., ::-1].argmax(axis=-1)",
                )
            ]
        },
        "the first maximum in row-major order gets dy",
        {"maxpool", "maxpool-hidden"},
        hidden_passes="backward, no ties",
    ),
    Mutant(
        "dense-backward-db-mean",
        "averages dy over the batch for db",
        {
            DENSE: [
                (
                    "return dy @ W.T, x.T @ dy, dy.sum(axis=0)",
                    "return dy @ W.T, x.T @ dy, dy.mean(axis=0)",
                )
            ]
        },
        "a sum where a mean belongs",
        {"dense", "dense-hidden"},
    ),
    Mutant(
        "dense-backward-dw-transposed",
        "dW = dy.T @ x: the shape of W transposed",
        {DENSE: [("return dy @ W.T, x.T @ dy,", "return dy @ W.T, dy.T @ x,")]},
        "axes transposed?",
        {"dense", "dense-hidden"},
    ),
    Mutant(
        "softmax-no-shift",
        "exponentiates the scores as they are: overflow",
        {SOFTMAX: [(SOFTMAX_SHIFT, "    e = np.exp(logits)")]},
        "NaN or inf",
        {"softmax", "softmax-hidden"},
    ),
    Mutant(
        "softmax-global-maximum",
        "subtracts the largest score of the whole batch, not each row's",
        {
            SOFTMAX: [
                (
                    SOFTMAX_SHIFT,
                    SOFTMAX_SHIFT.replace("logits.max(axis=1, keepdims=True)", "logits.max()"),
                )
            ]
        },
        "subtract each row's own maximum",
        {"softmax", "softmax-hidden"},
    ),
    Mutant(
        "cross-entropy-sum",
        "sums the loss over the batch instead of averaging it",
        {
            SOFTMAX: [
                ("loss = -log_p[np.arange(n), y].mean()", "loss = -log_p[np.arange(n), y].sum()"),
                ("return float(loss), dlogits / n", "return float(loss), dlogits"),
            ]
        },
        "times the expected value: a sum where a mean belongs",
        {"cross-entropy", "cross-entropy-hidden"},
    ),
    Mutant(
        "sgd-without-momentum",
        "forgets the last velocity: plain SGD",
        {
            SGD: [
                (
                    "velocity[name] = momentum * velocity[name] - lr * grads[name]",
                    "velocity[name] = -lr * grads[name]",
                )
            ]
        },
        "the velocity carries momentum times the last velocity",
        {"sgd", "sgd-hidden"},
    ),
    Mutant(
        "sgd-uphill",
        "subtracts the velocity: a step uphill",
        {
            SGD: [
                (
                    "params[name] = params[name] + velocity[name]",
                    "params[name] = params[name] - velocity[name]",
                )
            ]
        },
        "a step downhill",
        {"sgd", "sgd-hidden"},
    ),
    Mutant(
        "network-skips-relu-backward",
        "passes the gradient through the ReLU unchanged",
        {NET: [("da1 = relu_backward(dr1, a1)", "da1 = dr1")]},
        "backward runs the layers in reverse",
        {"network", "network-hidden"},
    ),
    Mutant(
        "train-learning-rate-too-large",
        "a learning rate of 5: training diverges",
        {TRAIN: [("lr=0.05", "lr=5.0")]},
        "at least 95%",
        {"training"},
    ),
]
