"""The model table: every network the site trains, by name. Chapters refer to models by these names.

Training defaults (Adam, lr 1e-3, batch 128, standardised input) are the ones measured in benchmarks/.
Changing a row changes its cache key, so only that model is retrained.
"""
import re
from dataclasses import asdict, dataclass

from .common import NnvizError

INPUT = {"mnist": 784, "fashion": 784, "cifar10": 3072}
# C6: a model name becomes a file name (cache, site data), so it is checked wherever it enters.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")   # use .fullmatch: "$" alone lets "a\n" through


class SpecError(NnvizError):
    """A model spec that cannot be trained: bad name or unknown dataset."""


def check_name(name, where="model name"):
    """`name` if it matches NAME_RE in full, else SpecError saying where it came from."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise SpecError(f"{where}: {name!r} is not a model name; expected lower-case letters, "
                        "digits and '-', starting with a letter or digit")
    return name


@dataclass(frozen=True)
class Spec:
    name: str
    dataset: str                 # "mnist" | "fashion" | "cifar10"
    hidden: tuple = ()           # hidden layer sizes; () = softmax regression
    activation: str = "relu"     # relu | sigmoid | tanh
    init: str = "he"             # he (N(0,1)*sqrt(2/fan_in)) | scaled (N(0,1)/sqrt(fan_in)) | normal (plain N(0,1)) | zeros
    l2: float = 0.0              # penalty (l2/2)*sum(W**2) on weights, not biases
    optimizer: str = "adam"      # adam | sgd (with momentum)
    lr: float = 1e-3
    lr_decay: float = 1.0        # lr multiplied by this after every epoch
    momentum: float = 0.9
    epochs: int = 10
    batch: int = 128
    seed: int = 0
    train_subset: int = 0        # >0: train on the first n training images only (overfitting demo)
    curves: bool = False         # record test loss/accuracy after every epoch (costs a test pass per epoch)
    note: str = ""               # one line on why this model exists
    # Roles in the site, not part of the training recipe (as_dict leaves them out, so they never
    # change a cache key or an exported model file):
    target: float | None = None  # the test accuracy it should reach (benchmarks/ reports it)
    compare_to: str = ""         # another model: the build exports what this one fixed and broke against it

    def __post_init__(self):
        check_name(self.name, "specs.py")
        if self.dataset not in INPUT:
            raise SpecError(f"specs.py: model {self.name}: unknown dataset {self.dataset!r}; "
                            f"expected one of {', '.join(INPUT)}")

    @property
    def layers(self):
        return [INPUT[self.dataset], *self.hidden, 10]

    def as_dict(self):
        """The training recipe: every field but the ROLES, plus the layer sizes."""
        d = {k: v for k, v in asdict(self).items() if k not in ROLES}
        d["hidden"] = list(self.hidden)
        d["layers"] = self.layers
        return d


ROLES = ("target", "compare_to")


def check_table(specs):
    """{name: spec} for a model table: names unique, every compare_to a model of the table."""
    by_name = {}
    for s in specs:
        if s.name in by_name:
            raise SpecError(f"specs.py: model {s.name} is defined twice")
        by_name[s.name] = s
    for s in specs:
        if s.compare_to and s.compare_to not in by_name:
            raise SpecError(f"specs.py: model {s.name}: compare_to={s.compare_to!r} is not a model of the table")
    return by_name


SWEEP = (2, 3, 4, 5, 10, 30, 100)

SPECS = [
    # Zero init: border pixels are blank in every image, get no gradient and so stay exactly 0.
    # The L2 penalty trades ~0.6 points of accuracy for templates a reader can recognise.
    Spec("mnist-softmax", "mnist", (), init="zeros", epochs=15, lr=2e-3, lr_decay=0.8, l2=1e-2, target=0.925,
         note="no hidden layer: each output neuron is one weight template"),
    Spec("mnist-softmax-sharp", "mnist", (), init="zeros", epochs=15, lr=2e-3, lr_decay=0.8, l2=1e-4,
         note="the same, barely regularised: more accurate, noisier templates"),
    Spec("mnist-h10", "mnist", (10,), epochs=40, lr=2e-3, lr_decay=0.9, l2=3e-4, target=0.940,
         compare_to="mnist-softmax", note="one hidden layer of 10"),
    Spec("mnist-h16x16", "mnist", (16, 16), epochs=50, batch=64, lr=2e-3, lr_decay=0.93, l2=1.5e-3, target=0.965,
         note="the drawing network"),
    Spec("mnist-h30", "mnist", (30,), epochs=40, batch=64, lr=2e-3, lr_decay=0.92, l2=5e-4, target=0.970,
         note="Lego-blocks test"),
    *[Spec(f"mnist-sweep-h{h}", "mnist", (h,), epochs=20, lr=2e-3, lr_decay=0.9, l2=3e-4, note="hidden-size sweep")
      for h in SWEEP],
    # tanh, not ReLU: with two ReLU neurons a sixth of the test images sit on one point (both 0)
    # and a third on the axes; tanh spreads them over the square, at the same accuracy.
    Spec("mnist-map-h2", "mnist", (2,), activation="tanh", epochs=40, lr=2e-3, lr_decay=0.9, l2=3e-4,
         note="two hidden neurons: the representation map"),
    Spec("mnist-h30-normal", "mnist", (30,), activation="sigmoid", init="normal", l2=0.0, epochs=10,
         note="plain N(0,1) init, no L2"),
    Spec("mnist-h30-scaled-l2", "mnist", (30,), activation="sigmoid", init="scaled", l2=1e-3, epochs=10,
         note="N(0,1)/sqrt(n) init with L2"),
    Spec("mnist-h300-small", "mnist", (300,), train_subset=1000, epochs=60, curves=True,
         note="300 hidden units on 1000 images, no L2: overfits"),
    Spec("mnist-h300-small-l2", "mnist", (300,), train_subset=1000, epochs=60, curves=True, l2=1e-2,
         note="the same with L2"),
    Spec("mnist-h300-l2", "mnist", (300,), epochs=20, lr=1e-3, lr_decay=0.85, l2=1e-4, target=0.980,
         note="a bigger net, full data"),
    Spec("fashion-softmax", "fashion", (), init="zeros", epochs=15, lr=2e-3, lr_decay=0.8, l2=3e-3, target=0.84),
    Spec("fashion-h100", "fashion", (100,), epochs=15, lr=1e-3, lr_decay=0.85, l2=1e-4),
    Spec("cifar-softmax", "cifar10", (), init="zeros", epochs=15, lr=1e-3, lr_decay=0.85, l2=1e-3, target=0.39),
    Spec("cifar-h100", "cifar10", (100,), epochs=20, lr=1e-3, lr_decay=0.9, l2=1e-3, target=0.50),
]

BY_NAME = check_table(SPECS)
