"""Named groups of forbidden names, and the other names a forbidden function is reachable by.

A part's rule (``metadata.autograder.forbid`` of a source notebook, see :mod:`autograder.rules`)
lists dotted names (``"torch"``, ``"numpy.convolve"``) and groups written with an ``@``
(``"@library-convolutions"``). A dotted name forbids itself and everything under it: ``"torch"``
forbids ``torch.nn.functional.conv2d``; ``"numpy.convolve"`` forbids only that function.
"""

from __future__ import annotations

# Every way a library computes a convolution or correlation in one call.
LIBRARY_CONVOLUTIONS = (
    "numpy.convolve",
    "numpy.correlate",
    "numpy.polymul",
    "numpy.polynomial",
    "numpy.fft",
    "scipy.signal",
    "scipy.ndimage",
    "scipy.fft",
    "scipy.fftpack",
    "torch",
    "tensorflow",
    "jax",
    "cupy",
    "skimage",
    "cv2",
    "PIL",
)

# The course's own code: the grader's reference kernels and the book's helpers.
COURSE_CODE = ("autograder", "cnnbook")

# What lets code reach objects the grader cannot see in the source: other modules' internals,
# the interpreter's frames and module table, code built from strings.
INTROSPECTION = (
    "gc",
    "ctypes",
    "cffi",
    "inspect",
    "importlib",
    "imp",
    "builtins",
    "marshal",
    "pickle",
    "dill",
    "types",
    "code",
    "codeop",
    "runpy",
    "pkgutil",
    "sys.modules",
    "sys._getframe",
    "sys.settrace",
    "sys.setprofile",
    "sys.addaudithook",
    "sys.meta_path",
    "sys.path_hooks",
    "sys.path_importer_cache",
    "threading.settrace",
    "os.system",
    "os.popen",
    "os.exec",
    "os.spawn",
    "subprocess",
)

GROUPS: dict[str, tuple[str, ...]] = {
    "@library-convolutions": LIBRARY_CONVOLUTIONS,
    "@course-code": COURSE_CODE,
    "@introspection": INTROSPECTION,
}

# Always part of every rule unless a part allows it explicitly: without it, a learner could
# reach any forbidden function in ways the source check cannot follow.
DEFAULT_FORBID = ("@course-code", "@introspection")

# Other names of the same function (NumPy re-exports its C implementations): forbidding the
# key forbids these too.
ALIASES: dict[str, tuple[str, ...]] = {
    "numpy.convolve": ("numpy._core.numeric.convolve", "numpy.core.numeric.convolve"),
    "numpy.correlate": (
        "numpy._core.numeric.correlate",
        "numpy.core.numeric.correlate",
        "numpy._core.multiarray.correlate",
        "numpy._core.multiarray.correlate2",
        "numpy.core.multiarray.correlate",
        "numpy.core.multiarray.correlate2",
    ),
    "numpy.lib.stride_tricks": ("numpy.lib._stride_tricks_impl",),
    "numpy.polymul": ("numpy.lib._polynomial_impl.polymul",),
}

# Attributes that expose a function's globals, closure or code, a module's loader, or every
# class of the interpreter: used only to escape a check.
DUNDER_ESCAPES = frozenset(
    {
        "__globals__",
        "__closure__",
        "__code__",
        "__wrapped__",
        "__subclasses__",
        "__builtins__",
        "__dict__",
        "__loader__",
        "__spec__",
        "__import__",
        "__bases__",
        "__base__",
        "__mro__",
        "__getattribute__",
        "__reduce__",
        "__reduce_ex__",
        "__self__",
        "__func__",
        "__module__",
        "f_globals",
        "f_locals",
        "f_back",
        "gi_frame",
        "tb_frame",
        "co_consts",
    }
)

# Built-in functions that run or look up code by a string; checked when their argument is a
# constant, forbidden when it is built at run time.
DYNAMIC_BUILTINS = frozenset({"exec", "eval", "compile", "__import__", "globals", "vars"})
# Names a notebook's process defines that reach the interpreter or the shell running the tests.
SHELL_NAMES = frozenset({"get_ipython", "__builtins__", "__loader__", "__spec__"})


def expand(entries: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Dotted names of ``entries`` with the groups replaced by their members, plus aliases."""
    names: set[str] = set()
    for entry in entries:
        if entry.startswith("@"):
            if entry not in GROUPS:
                known = ", ".join(sorted(GROUPS))
                raise ValueError(f"unknown group {entry!r} in a forbid rule; known: {known}")
            names.update(GROUPS[entry])
        else:
            names.add(entry)
    for name in list(names):
        names.update(ALIASES.get(name, ()))
    return frozenset(names)


def matches(name: str, forbidden: frozenset[str]) -> str | None:
    """The entry of ``forbidden`` that forbids the dotted ``name``, or None.

    ``torch`` forbids ``torch.nn.functional.conv2d``; ``numpy.convolve`` does not forbid
    ``numpy``. Names reached through private modules (``numpy._core...``) match their aliases.
    """
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in forbidden:
            return prefix
    return None
