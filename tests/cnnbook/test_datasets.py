"""Offline datasets, and the IDX / CIFAR-10 readers on tiny files written here."""

import gzip
import pickle
import random
import socket

import numpy as np
import pytest
import torch

from cnnbook import datasets as D
from cnnbook import file_formats as formats


def test_digits_fixed_split():
    a, b = D.digits(), D.digits()
    assert a.x_train.shape == (1797 - D.DIGITS_TEST_SIZE, 1, 8, 8)
    assert a.x_test.shape == (D.DIGITS_TEST_SIZE, 1, 8, 8)
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_test, b.y_test)
    assert a.x_train.dtype == np.float32 and 0 <= a.x_train.min() and a.x_train.max() <= 1
    assert set(np.unique(a.y_test)) == set(range(10))


def test_digits_32_for_lenet():
    s = D.digits(size=32)
    assert s.x_train.shape[1:] == (1, 32, 32)
    assert np.all(s.x_train[:, :, :2] == 0) and np.all(s.x_train[:, :, :, -2:] == 0)
    assert np.array_equal(s.y_test, D.digits().y_test)
    with pytest.raises(ValueError, match="size"):
        D.digits(size=16)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import requests

    monkeypatch.setattr(requests, "get", refuse)


def test_mnist1d_regenerated_offline(no_network):
    np.random.seed(7)  # noqa: NPY002 (mnist1d must leave the global state alone)
    random.seed(7)
    np_before, py_before = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    s = D.mnist1d(num_samples=500)
    assert s.x_train.shape == (400, 40) and s.x_test.shape == (100, 40)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    assert set(np.unique(s.y_train)) == set(range(10))
    assert np.array_equal(np.random.get_state()[1], np_before)  # noqa: NPY002
    assert random.getstate() == py_before
    again = D.mnist1d(num_samples=500)
    assert np.array_equal(s.x_train, again.x_train)


def test_mnist1d_regenerated_is_the_published_data_set(no_network):
    """The generator's output for the published arguments, cast as ``mnist1d()`` casts it, is
    byte for byte the published pickle (hashes recorded from github.com/greydanus/mnist1d)."""
    s = D.mnist1d()  # seed 42, 5,000 signals, 4,000 for training
    published = D.MNIST1D_PUBLISHED
    assert {name: D.array_sha256(getattr(s, name)) for name in published["sha256"]} == published[
        "sha256"
    ]
    for name in ("x_train", "x_test"):
        values = getattr(s, name).astype(np.float64)
        assert values.mean() == pytest.approx(published["mean"][name], abs=1e-9)
        assert values.std() == pytest.approx(published["std"][name], rel=1e-7)
    # the hash can fail: another seed gives other data
    other = D.mnist1d(seed=43)
    assert D.array_sha256(other.x_train) != published["sha256"]["x_train"]


def test_array_sha256_sees_values_and_order():
    a = np.arange(6, dtype=np.float32)
    assert D.array_sha256(a) == D.array_sha256(a.copy())
    assert D.array_sha256(a) != D.array_sha256(a[::-1])
    assert D.array_sha256(a.reshape(2, 3).T) == D.array_sha256(
        np.ascontiguousarray(a.reshape(2, 3).T)
    )


def test_mnist1d_shuffled_permutes_positions(no_network):
    plain, shuffled = D.mnist1d(num_samples=500), D.mnist1d(shuffle_seq=True, num_samples=500)
    assert np.array_equal(plain.y_train, shuffled.y_train)
    assert not np.allclose(plain.x_train, shuffled.x_train)
    # The same 40 values per signal, in another (fixed) order.
    np.testing.assert_allclose(
        np.sort(plain.x_train, 1), np.sort(shuffled.x_train, 1), rtol=1e-5, atol=1e-5
    )
    perm = [
        int(np.argmin(np.abs(plain.x_train[:50] - shuffled.x_train[:50, [j]]).sum(0)))
        for j in range(40)
    ]
    np.testing.assert_allclose(plain.x_train[:, perm], shuffled.x_train, atol=1e-5)


def test_photos_and_faces():
    assert D.photo("camera").shape == (512, 512)
    chelsea = D.photo("chelsea")
    assert chelsea.ndim == 3 and chelsea.shape[2] == 3 and chelsea.dtype == np.float32
    assert 0 <= chelsea.min() and chelsea.max() <= 1
    with pytest.raises(ValueError, match="camera"):
        D.photo("lena")
    images, labels = D.faces()
    assert images.shape == (200, 25, 25) and labels.tolist() == [1] * 100 + [0] * 100


def test_as_datasets():
    train, test = D.as_datasets(D.digits())
    x, y = train[0]
    assert x.dtype == torch.float32 and x.shape == (1, 8, 8) and y.dtype == torch.int64
    assert len(test) == D.DIGITS_TEST_SIZE


# --- IDX ---------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """IDX: 0x00 0x00, type, number of dims, big-endian uint32 sizes, big-endian data."""
    header = bytes([0, 0, type_code, array.ndim])
    header += b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(formats.IDX_TYPES[type_code]).tobytes()


def write_mnist(folder, n_train=5, n_test=3, compress=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in D.MNIST_FILES.items():
        raw = idx_bytes(arrays[key])
        if compress:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return arrays


def test_idx_magic_numbers_and_sizes():
    labels = np.array([7, 2, 1], np.uint8)
    raw = idx_bytes(labels)
    assert raw[:4] == b"\x00\x00\x08\x01" and raw[4:8] == b"\x00\x00\x00\x03"
    assert formats.parse_idx(raw).tolist() == [7, 2, 1]
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert idx_bytes(images)[:4] == b"\x00\x00\x08\x03"
    assert np.array_equal(formats.parse_idx(idx_bytes(images)), images)
    floats = np.linspace(-1, 1, 6).reshape(2, 3)
    np.testing.assert_array_equal(formats.parse_idx(idx_bytes(floats, 0x0E)), floats)


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_reads_local_idx_files(tmp_path, compress):
    arrays = write_mnist(tmp_path / "mnist", compress=compress)
    s = D.mnist(root=tmp_path / "mnist")
    assert s.x_train.shape == (5, 1, 28, 28) and s.x_test.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(s.x_train[:, 0] * 255, arrays["x_train"], atol=1e-4)
    assert s.y_test.tolist() == arrays["y_test"].tolist() and s.y_test.dtype == np.int64


def test_fashion_mnist_found_through_course_data(tmp_path, monkeypatch):
    write_mnist(tmp_path / "fashion-mnist")
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert D.mnist("fashion").x_train.shape == (5, 1, 28, 28)


def test_mnist_missing_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        D.mnist()
    message = str(info.value)
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte.gz") in message
    assert "COURSE_DATA" in message and "t10k-labels-idx1-ubyte.gz" in message


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"\x08\x03\x00\x00" + bytes(12), "magic"),  # bytes in the wrong order
        (b"\x00\x00\x07\x01" + bytes(8), "magic"),  # unknown type code
        (b"\x00\x00\x08\x03\x00\x00", "truncated"),  # header cut short
        (b"\x00\x00\x08\x01\x00\x00\x00\x05" + bytes(3), "5 bytes"),  # too little data
        (b"\x00\x00\x08\x01\x00\x00\x00\x02" + bytes(3), "2 bytes"),  # too much data
    ],
)
def test_malformed_idx(raw, match):
    with pytest.raises(ValueError, match=match):
        formats.parse_idx(raw)


def test_mnist_with_mismatched_files(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(4, np.uint8)))
    )
    with pytest.raises(ValueError, match="do not match"):
        D.mnist(root=tmp_path)


# --- CIFAR-10 ----------------------------------------------------------------------------


def write_cifar_batch(path, n, seed):
    """A batch as the official one: a dict with bytes keys, data uint8 (n, 3072), labels."""
    rng = np.random.default_rng(seed)
    batch = {
        b"batch_label": b"tiny batch",
        b"labels": rng.integers(0, 10, n).tolist(),
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"img{i}.png".encode() for i in range(n)],
    }
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return batch


def write_cifar(folder):
    folder.mkdir(parents=True, exist_ok=True)
    batches = [write_cifar_batch(folder / name, 4, i) for i, name in enumerate(D.CIFAR_TRAIN)]
    return batches, write_cifar_batch(folder / D.CIFAR_TEST, 3, 9)


def test_cifar10_reads_python_batches(tmp_path):
    train, test = write_cifar(tmp_path / D.CIFAR_FOLDER)
    s = D.cifar10(root=tmp_path / D.CIFAR_FOLDER)
    assert s.x_train.shape == (20, 3, 32, 32) and s.x_test.shape == (3, 3, 32, 32)
    assert s.y_train.tolist() == sum((b[b"labels"] for b in train), [])
    # Each row holds the red, then the green, then the blue 32 x 32 plane.
    first = train[0][b"data"][0]
    np.testing.assert_allclose(s.x_train[0, 1] * 255, first[1024:2048].reshape(32, 32), atol=1e-4)


def test_cifar10_found_through_course_data(tmp_path, monkeypatch):
    write_cifar(tmp_path / D.CIFAR_FOLDER)
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert len(D.cifar10().y_test) == 3


def test_cifar10_missing_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py.+data_batch_1"):
        D.cifar10()


class Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_cifar_batch_refuses_foreign_pickles(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Exploit()}))
    with pytest.raises(pickle.UnpicklingError, match="system"):
        formats.read_cifar_batch(path)


@pytest.mark.parametrize(
    ("batch", "match"),
    [
        ({b"data": np.zeros((2, 3072), np.uint8)}, "labels"),
        ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, "3072"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "0..9"),
        ([1, 2, 3], "dict"),
    ],
)
def test_malformed_cifar_batch(tmp_path, batch, match):
    path = tmp_path / "test_batch"
    path.write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match=match):
        formats.read_cifar_batch(path)


# --- generated shapes with masks --------------------------------------------------------------


def test_shapes_arrays_and_classes():
    images, masks = D.shapes(40, 32, seed=3)
    assert images.shape == (40, 1, 32, 32) and images.dtype == np.float32
    assert masks.shape == (40, 32, 32) and masks.dtype == np.int64
    assert 0 <= images.min() and images.max() <= 1
    assert set(np.unique(masks)) <= set(range(len(D.SHAPE_CLASSES)))
    assert D.SHAPE_CLASSES == ("background", "circle", "square", "triangle")
    assert (masks.reshape(40, -1).max(axis=1) >= 1).all(), "an image without a shape"


def test_shapes_are_reproducible_and_seeded():
    a, b, c = D.shapes(5, seed=7), D.shapes(5, seed=7), D.shapes(5, seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_shapes_mask_marks_exactly_the_painted_pixels():
    images, masks = D.shapes(50, 24, noise=0.0, seed=1)
    pixels = images[:, 0]
    assert (pixels[masks > 0] >= 0.5).all() and (pixels[masks > 0] <= 1).all()
    assert (pixels[masks == 0] <= 0.3).all()


def test_shapes_cover_every_class():
    _, masks = D.shapes(200, 32, seed=0)
    counts = np.bincount(masks.ravel(), minlength=4)
    assert (counts > 0).all() and counts[0] > counts[1:].sum()


@pytest.mark.parametrize(
    ("kind", "area_over_r2"),
    [("circle", np.pi), ("square", 2.0), ("triangle", 3 * np.sqrt(3) / 4)],
)
@pytest.mark.parametrize("angle", [0.0, 0.3, 1.0])
def test_shape_mask_area(kind, area_over_r2, angle):
    radius = 60.0
    mask = D.shape_mask(kind, 200, (100.0, 100.0), radius, angle)
    assert mask.dtype == bool
    assert abs(mask.sum() / (area_over_r2 * radius**2) - 1) < 0.02


def test_shape_mask_small_by_hand():
    square = D.shape_mask("square", 6, (3.0, 3.0), 2.9, np.pi / 4)  # axis-aligned, side 4.1
    expected = np.zeros((6, 6), bool)
    expected[1:5, 1:5] = True
    assert np.array_equal(square, expected)
    circle = D.shape_mask("circle", 5, (2.5, 2.5), 1.0)
    assert circle.sum() == 5 and circle[2, 2] and circle[1, 2] and not circle[1, 1]


def test_shape_mask_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        D.shape_mask("hexagon", 8, (4.0, 4.0), 2.0)
    with pytest.raises(ValueError, match="radius"):
        D.shape_mask("circle", 8, (4.0, 4.0), 0.0)
    with pytest.raises(ValueError, match="num_images"):
        D.shapes(-1)
