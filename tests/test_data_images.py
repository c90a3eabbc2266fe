"""Image data sets: digits, folder (with cache), MNIST IDX, CIFAR-10 pickles, npz, ImageData."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from engine.config import Config
from engine.data import make_data
from engine.data.base import DataError
from engine.data.images import DataWarning, ImageData, load_images
from engine.data.images import files as data_files
from engine.data.images import folder as image_folder


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    """Never touch the user's ~/.cache from the tests."""
    monkeypatch.setenv("WGAN_CACHE_DIR", str(tmp_path / "cache"))


def cfg_for(name, path="", size=32, channels=0, source=None) -> Config:
    cfg = Config()
    cfg.data.name = name
    cfg.data.path = str(path)
    cfg.data.image_size = size
    cfg.data.channels = channels
    cfg.source = str(source) if source else None
    return cfg


def solid(w, h, colour, mode="RGB") -> Image.Image:
    return Image.new(mode, (w, h), colour)


# ----------------------------------------------------------------------------- digits

def test_digits_upscaled_to_32_grey_with_ten_classes():
    x, y = load_images(cfg_for("digits", size=32))
    assert x.shape == (1797, 1, 32, 32) and x.dtype == np.uint8
    assert y.dtype == np.int64 and sorted(set(y.tolist())) == list(range(10))
    assert x.min() < 20 and x.max() > 235  # dark background, bright strokes survive the resize
    # a resized digit still looks like its 8x8 source: block-average back down and compare
    src = np.load(__import__("resources").path("digits.npz"))["images"][0].astype(float)
    back = x[0, 0].reshape(8, 4, 8, 4).mean(axis=(1, 3))
    assert np.corrcoef(src.ravel(), back.ravel())[0, 1] > 0.9


def test_digits_three_channels_repeat_grey_and_make_data_wires_it():
    x, _ = load_images(cfg_for("digits", size=8, channels=3))
    assert x.shape == (1797, 3, 8, 8)
    assert np.array_equal(x[:, 0], x[:, 1]) and np.array_equal(x[:, 0], x[:, 2])
    data = make_data(cfg_for("digits", size=16))
    assert isinstance(data, ImageData) and data.kind == "image"
    assert data.shape == (1, 16, 16) and data.num_classes == 10


# ----------------------------------------------------------------------------- folder

def make_folder(root):
    """5 good images of different sizes/formats (nested), 3 bad ones, 1 ignored non-image."""
    (root / "a").mkdir(parents=True)
    (root / "b" / "c").mkdir(parents=True)
    solid(40, 20, (255, 0, 0)).save(root / "a" / "red.png")
    solid(17, 33, (0, 255, 0)).save(root / "b" / "c" / "green.JPG", quality=95)
    solid(64, 64, (0, 0, 255)).save(root / "blue.webp", lossless=True)
    solid(10, 10, 200, mode="L").save(root / "grey.png")
    # a wide image: black left and right thirds, white centre square -> all white after the crop
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:, 10:20] = 255
    Image.fromarray(wide).save(root / "b" / "wide.png")
    (root / "empty.png").write_bytes(b"")
    (root / "b" / "fake.png").write_text("this is not a png")
    (root / "noise.jpeg").write_bytes(os.urandom(300))
    (root / "notes.txt").write_text("ignored, not an image name")


def test_folder_loads_nested_mixed_images_and_warns_once_about_bad_files(tmp_path):
    root = tmp_path / "imgs"
    make_folder(root)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        x, y = load_images(cfg_for("folder", root, size=16))
    data_warnings = [w for w in rec if issubclass(w.category, DataWarning)]
    assert len(data_warnings) == 1
    msg = str(data_warnings[0].message)
    assert "skipped 3 of 8 files" in msg and str(root.resolve()) in msg
    assert "empty.png" in msg and "fake.png" in msg and "noise.jpeg" in msg
    assert y is None
    assert x.shape == (5, 3, 16, 16) and x.dtype == np.uint8
    # sorted by relative path: a/red.png, b/c/green.JPG, b/wide.png, blue.webp, grey.png
    mean = x.reshape(5, 3, -1).mean(axis=2)
    np.testing.assert_allclose(mean[0], [255, 0, 0], atol=3)
    np.testing.assert_allclose(mean[1], [0, 255, 0], atol=6)
    assert x[2].min() >= 250  # centre-cropped: the black sides are gone
    np.testing.assert_allclose(mean[3], [0, 0, 255], atol=3)
    np.testing.assert_allclose(mean[4], [200, 200, 200], atol=1)


def test_folder_grey_and_relative_path(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    solid(12, 12, (255, 0, 0)).save(root / "red.png")
    x, _ = load_images(cfg_for("folder", "imgs", size=8, channels=1, source=tmp_path / "run.toml"))
    assert x.shape == (1, 1, 8, 8)
    assert abs(int(x[0, 0, 4, 4]) - 76) <= 1  # ITU-R 601 luminance of pure red


def test_folder_missing_empty_or_only_bad_files_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no such folder") as e:
        load_images(cfg_for("folder", tmp_path / "nope"))
    assert str(tmp_path / "nope") in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no readable image") as e:
        load_images(cfg_for("folder", empty))
    assert str(empty.resolve()) in str(e.value)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"")
    (bad / "y.webp").write_text("nope")
    with pytest.raises(DataError, match="no readable image") as e:
        load_images(cfg_for("folder", bad))
    assert str(bad.resolve()) in str(e.value) and "2 files skipped" in str(e.value)


def test_folder_skips_oversized_files(tmp_path, monkeypatch):
    root = tmp_path / "imgs"
    root.mkdir()
    solid(8, 8, (1, 2, 3)).save(root / "small.png")
    solid(200, 200, (1, 2, 3)).save(root / "big.png")
    monkeypatch.setattr(image_folder, "MAX_PIXELS", 100 * 100)
    with pytest.warns(DataWarning, match="skipped 1 of 2 files.*megapixels.*big.png"):
        x, _ = load_images(cfg_for("folder", root, size=8))
    assert len(x) == 1


def test_folder_cache_hit_then_rebuilt_after_change_or_corruption(tmp_path, monkeypatch):
    root = tmp_path / "imgs"
    root.mkdir()
    solid(20, 20, (255, 0, 0)).save(root / "one.png")
    solid(20, 20, (0, 255, 0)).save(root / "two.png")
    cfg = cfg_for("folder", root, size=8)

    before = image_folder.stats["decoded"]
    x1, _ = load_images(cfg)
    assert image_folder.stats["decoded"] - before == 2
    cache_files = list((tmp_path / "cache").glob("*.npz"))
    assert len(cache_files) == 1

    def no_decode(*a, **k):
        raise AssertionError("decoded although the cache is valid")

    with monkeypatch.context() as m:
        m.setattr(image_folder, "decode_image", no_decode)
        hits = image_folder.stats["cache_hits"]
        x2, _ = load_images(cfg)
        assert image_folder.stats["cache_hits"] == hits + 1
    assert np.array_equal(x1, x2)

    # change a file (new content, new mtime): the next load sees the new pixels
    solid(20, 20, (0, 0, 255)).save(root / "two.png")
    st = os.stat(root / "two.png")
    os.utime(root / "two.png", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    before = image_folder.stats["decoded"]
    x3, _ = load_images(cfg)
    assert image_folder.stats["decoded"] - before == 2
    np.testing.assert_allclose(x3[1].reshape(3, -1).mean(axis=1), [0, 0, 255], atol=1)

    # a corrupt cache file is ignored and rebuilt
    for f in (tmp_path / "cache").glob("*.npz"):
        f.write_bytes(b"garbage")
    before = image_folder.stats["decoded"]
    x4, _ = load_images(cfg)
    assert image_folder.stats["decoded"] - before == 2 and np.array_equal(x3, x4)
    x5, _ = load_images(cfg)  # and the rebuilt cache is valid again
    assert image_folder.stats["decoded"] - before == 2 and np.array_equal(x4, x5)


# ----------------------------------------------------------------------------- MNIST

def idx_bytes(magic, dims, data: bytes) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + data


def write_mnist(folder, n=5, gz=False, prefix="train", label_count=None):
    folder.mkdir(parents=True, exist_ok=True)
    imgs = (np.arange(n, dtype=np.uint8)[:, None, None] * 40 + np.zeros((1, 16, 16), np.uint8)).astype(np.uint8)
    imgs[:, 0, 0] = 255
    labels = np.arange(n, dtype=np.uint8) % 10
    img_raw = idx_bytes(0x803, (n, 16, 16), imgs.tobytes())
    lab_raw = idx_bytes(0x801, (label_count or n,), labels.tobytes()[: label_count or n].ljust(label_count or n, b"\0"))
    suffix = ".gz" if gz else ""
    wrap = gzip.compress if gz else (lambda b: b)
    (folder / f"{prefix}-images-idx3-ubyte{suffix}").write_bytes(wrap(img_raw))
    (folder / f"{prefix}-labels-idx1-ubyte{suffix}").write_bytes(wrap(lab_raw))
    return imgs, labels


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_folder_plain_and_gzip(tmp_path, gz):
    imgs, labels = write_mnist(tmp_path / "mnist", gz=gz)
    x, y = load_images(cfg_for("mnist", tmp_path / "mnist", size=16))
    assert x.shape == (5, 1, 16, 16)
    assert np.array_equal(x[:, 0], imgs) and np.array_equal(y, labels)
    x32, _ = load_images(cfg_for("mnist", tmp_path / "mnist", size=32, channels=3))
    assert x32.shape == (5, 3, 32, 32)


def test_mnist_gzip_detected_by_magic_and_t10k_fallback(tmp_path):
    folder = tmp_path / "m"
    imgs, labels = write_mnist(folder, prefix="t10k", gz=True)
    x, y = load_images(cfg_for("mnist", folder, size=16))  # only t10k-* present
    assert np.array_equal(x[:, 0], imgs) and np.array_equal(y, labels)
    # gzip content in files without the .gz ending, the images file given directly
    for kind in ("images-idx3", "labels-idx1"):
        os.rename(folder / f"t10k-{kind}-ubyte.gz", folder / f"t10k-{kind}-ubyte")
    x, y = load_images(cfg_for("mnist", folder / "t10k-images-idx3-ubyte", size=16))
    assert np.array_equal(x[:, 0], imgs) and np.array_equal(y, labels)


def test_mnist_truncated_bad_magic_label_mismatch_missing(tmp_path):
    folder = tmp_path / "m"
    write_mnist(folder)
    f = folder / "train-images-idx3-ubyte"
    raw = f.read_bytes()
    f.write_bytes(raw[:-10])
    with pytest.raises(DataError, match="truncated") as e:
        load_images(cfg_for("mnist", folder))
    assert "train-images-idx3-ubyte" in str(e.value)
    f.write_bytes(gzip.compress(raw)[:-20])  # truncated gzip stream
    with pytest.raises(DataError, match="gzip") as e:
        load_images(cfg_for("mnist", folder))
    f.write_bytes(struct.pack(">I", 0x801) + raw[4:])
    with pytest.raises(DataError, match="magic") as e:
        load_images(cfg_for("mnist", folder))
    assert "train-images-idx3-ubyte" in str(e.value)
    write_mnist(folder, n=5, label_count=4)
    with pytest.raises(DataError, match="4 labels but .* has 5 images"):
        load_images(cfg_for("mnist", folder))
    with pytest.raises(DataError, match="no MNIST images file"):
        load_images(cfg_for("mnist", tmp_path))
    with pytest.raises(DataError, match="no such") as e:
        load_images(cfg_for("mnist", tmp_path / "missing-idx3-ubyte"))
    assert "missing-idx3-ubyte" in str(e.value)


# ----------------------------------------------------------------------------- CIFAR-10

def cifar_batch(n=4, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    data[1, 1 * 1024 + 2 * 32 + 3] = 7  # channel G, row 2, column 3 of image 1
    labels = [int(i % 10) for i in range(seed, seed + n)]
    return {b"batch_label": b"training batch 1 of 5", b"labels": labels, b"data": data,
            b"filenames": [b"f%d.png" % i for i in range(n)]}


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_batch_file_pixel_order(tmp_path, protocol):
    d = cifar_batch()
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(d, protocol=protocol))
    x, y = load_images(cfg_for("cifar10", tmp_path / "data_batch_1", size=32))
    assert x.shape == (4, 3, 32, 32) and y.tolist() == d[b"labels"]
    assert x[1, 1, 2, 3] == 7
    assert np.array_equal(x.reshape(4, -1), d[b"data"])


def test_cifar10_folder_concatenates_batches_in_order_and_falls_back_to_test_batch(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    b1, b2 = cifar_batch(3, seed=1), cifar_batch(2, seed=2)
    (folder / "data_batch_2").write_bytes(pickle.dumps(b2, protocol=2))
    (folder / "data_batch_1").write_bytes(pickle.dumps(b1, protocol=2))
    (folder / "test_batch").write_bytes(pickle.dumps(cifar_batch(6), protocol=2))
    x, y = load_images(cfg_for("cifar10", tmp_path, size=16, channels=1))  # parent folder works too
    assert x.shape == (5, 1, 16, 16) and y.tolist() == b1[b"labels"] + b2[b"labels"]
    for f in folder.glob("data_batch_*"):
        f.unlink()
    x, _ = load_images(cfg_for("cifar10", folder))
    assert x.shape == (6, 3, 32, 32)


class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Plain:
    pass


@pytest.mark.parametrize("payload", ["system", "instance"])
def test_cifar10_refuses_pickles_with_arbitrary_objects(tmp_path, payload):
    marker = tmp_path / "pwned"
    d = cifar_batch()
    d[b"labels"] = Evil(marker) if payload == "system" else Plain()
    f = tmp_path / "data_batch_1"
    f.write_bytes(pickle.dumps(d, protocol=2))
    with pytest.raises(DataError, match="refusing to load") as e:
        load_images(cfg_for("cifar10", f))
    assert str(f) in str(e.value)
    assert ("system" in str(e.value)) if payload == "system" else ("Plain" in str(e.value))
    assert not marker.exists()


def test_cifar10_wrong_content_is_an_error(tmp_path):
    f = tmp_path / "data_batch_1"
    f.write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="not a CIFAR-10 batch"):
        load_images(cfg_for("cifar10", f))
    f.write_bytes(pickle.dumps({b"labels": [1]}, protocol=2))
    with pytest.raises(DataError, match="b'data' missing"):
        load_images(cfg_for("cifar10", f))
    d = cifar_batch()
    d[b"data"] = d[b"data"][:, :100]
    f.write_bytes(pickle.dumps(d, protocol=2))
    with pytest.raises(DataError, match=r"N x 3072"):
        load_images(cfg_for("cifar10", f))
    empty = tmp_path / "emptydir"
    empty.mkdir()
    with pytest.raises(DataError, match="no CIFAR-10 batch files") as e:
        load_images(cfg_for("cifar10", empty))
    assert str(empty) in str(e.value)


# ----------------------------------------------------------------------------- npz

def test_npz_grey_rgb_rgba_and_labels(tmp_path):
    grey = np.full((3, 8, 8), 100, np.uint8)
    f = tmp_path / "g.npz"
    np.savez(f, images=grey, labels=np.array([0, 2, 1]))
    x, y = load_images(cfg_for("npz", f, size=8))
    assert x.shape == (3, 1, 8, 8) and y.tolist() == [0, 2, 1] and y.dtype == np.int64
    x3, _ = load_images(cfg_for("npz", f, size=16, channels=3))
    assert x3.shape == (3, 3, 16, 16) and np.all(x3 == 100)

    rgb = np.zeros((2, 8, 12, 3), np.uint8)
    rgb[..., 0] = 255
    np.savez(tmp_path / "rgb.npz", images=rgb)
    x, y = load_images(cfg_for("npz", tmp_path / "rgb.npz", size=8))
    assert x.shape == (2, 3, 8, 8) and y is None
    assert np.all(x[:, 0] == 255) and np.all(x[:, 1:] == 0)  # channel-last -> channel-first
    x1, _ = load_images(cfg_for("npz", tmp_path / "rgb.npz", size=8, channels=1))
    assert x1.shape == (2, 1, 8, 8) and np.all(np.abs(x1.astype(int) - 76) <= 1)

    rgba = np.concatenate([rgb, np.full((2, 8, 12, 1), 9, np.uint8)], axis=3)
    np.savez(tmp_path / "rgba.npz", images=rgba)
    x, _ = load_images(cfg_for("npz", tmp_path / "rgba.npz", size=8))
    assert x.shape == (2, 3, 8, 8) and np.all(x[:, 0] == 255)

    np.save(tmp_path / "plain.npy", grey)  # a bare .npy holds just the images
    x, y = load_images(cfg_for("npz", tmp_path / "plain.npy", size=8))
    assert x.shape == (3, 1, 8, 8) and y is None


@pytest.mark.parametrize("case, match", [
    ("float", r"'images'.*float32"),
    ("chw", r"'images'.*\(2, 3, 8, 8\).*channel-first"),
    ("missing", r"key 'images' missing.*pics"),
    ("labels_len", r"'labels'.*expected \(2,\)"),
    ("labels_float", r"'labels'.*float"),
    ("corrupt", r"not a readable \.npz"),
    ("absent", r"no such file"),
])
def test_npz_bad_content_names_the_key(tmp_path, case, match):
    f = tmp_path / "d.npz"
    good = np.zeros((2, 8, 8), np.uint8)
    if case == "float":
        np.savez(f, images=good.astype(np.float32))
    elif case == "chw":
        np.savez(f, images=np.zeros((2, 3, 8, 8), np.uint8))
    elif case == "missing":
        np.savez(f, pics=good)
    elif case == "labels_len":
        np.savez(f, images=good, labels=np.arange(3))
    elif case == "labels_float":
        np.savez(f, images=good, labels=np.array([0.5, 1.5]))
    elif case == "corrupt":
        f.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(DataError, match=match) as e:
        load_images(cfg_for("npz", f, size=8))
    assert str(f) in str(e.value)


# ----------------------------------------------------------------------------- ImageData

def labelled_images(n=10, classes=5):
    labels = np.arange(n) % classes
    images = np.repeat((labels * 50).astype(np.uint8)[:, None, None, None], 8 * 8, axis=0).reshape(n, 1, 8, 8)
    images = np.ascontiguousarray(images)
    images[0, 0, 0, 0] = 255  # an extreme pixel: maps to +1
    images[5, 0, 0, 0] = 0
    return images, labels


def check_batch(data: ImageData, device):
    g = torch.Generator(device=device).manual_seed(3)
    x, y = data.sample(64, g)
    assert x.shape == (64, 1, 8, 8) and x.dtype == torch.float32 and x.device.type == torch.device(device).type
    assert y.shape == (64,) and y.dtype == torch.int64 and y.device == x.device
    assert x.min() >= -1 and x.max() <= 1
    # the pixel value encodes the label: (x + 1) * 127.5 == 50 * label away from the marked pixel
    centre = ((x[:, 0, 4, 4] + 1) * 127.5).round()
    assert torch.equal(centre, (50 * y).to(torch.float32))
    return x, y


def test_image_data_sample_range_shape_labels_and_reproducibility():
    images, labels = labelled_images()
    data = ImageData("npz", images, labels)
    assert data.kind == "image" and data.shape == (1, 8, 8) and data.num_classes == 5 and len(data) == 10
    x, y = check_batch(data, "cpu")
    g = torch.Generator().manual_seed(3)
    x2, y2 = data.sample(64, g)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x3, _ = data.sample(64, torch.Generator().manual_seed(4))
    assert not torch.equal(x, x3)
    # the exact ends of the range are reached
    full, _ = data.sample(2000, torch.Generator().manual_seed(0))
    assert full.max().item() == 1.0 and full.min().item() == -1.0


def test_image_data_without_labels_and_to():
    images, _ = labelled_images()
    data = ImageData("folder", images, None)
    x, y = data.sample(7, torch.Generator().manual_seed(0))
    assert y is None and x.shape == (7, 1, 8, 8) and data.num_classes == 0
    moved = data.to("cpu")
    assert isinstance(moved, ImageData) and moved is not data and moved.shape == data.shape
    assert torch.equal(moved.sample(7, torch.Generator().manual_seed(0))[0], x)


def test_image_data_on_the_auto_device():
    # The device training would pick (cuda, then mps, then cpu): batches are drawn there.
    from engine.device import pick_device
    dev = pick_device("auto")
    images, labels = labelled_images()
    data = ImageData("npz", images, labels).to(dev)
    assert data.images.device.type == dev.type and data.labels.device.type == dev.type
    check_batch(data, dev.type)


# ----------------------------------------------------------------------------- paths that never end

@pytest.mark.posix_only("/dev/zero and FIFOs")
@pytest.mark.parametrize("name", ["mnist", "cifar10", "npz"])
def test_devices_and_pipes_are_refused_before_reading(tmp_path, name):
    """/dev/zero would be read until memory runs out, a FIFO would block for ever: both are
    refused at once, naming the path and what was expected."""
    with pytest.raises(DataError, match=r"/dev/zero: is not a regular file \(a device, a pipe or a socket\)"):
        load_images(cfg_for(name, "/dev/zero"))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="pipe: is not a regular file"):
        load_images(cfg_for(name, fifo))


def test_data_files_beyond_the_limit_are_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(data_files, "MAX_DATA_FILE_BYTES", 1000)
    big = tmp_path / "big.npz"
    np.savez(big, images=np.zeros((100, 8, 8), np.uint8))
    assert big.stat().st_size > 1000
    with pytest.raises(DataError, match=r"big.npz: is \d+ bytes, more than the 1000 bytes allowed for an .npz"):
        load_images(cfg_for("npz", big))


def test_gzip_that_inflates_beyond_the_limit_is_refused(tmp_path, monkeypatch):
    write_mnist(tmp_path / "m", n=200, gz=True)  # 200 x 16 x 16: 51 kB inflated, ~1 kB on disk
    monkeypatch.setattr(data_files, "MAX_DATA_FILE_BYTES", 20_000)
    with pytest.raises(DataError, match="images-idx3-ubyte.gz: decompresses to more than the 20000 bytes allowed"):
        load_images(cfg_for("mnist", tmp_path / "m", size=16))


@pytest.mark.posix_only("/dev/zero")
def test_a_config_that_is_a_device_is_refused(tmp_path):
    from engine import ConfigError, load_config

    with pytest.raises(ConfigError, match="/dev/zero.*is not a regular file"):
        load_config("/dev/zero")
