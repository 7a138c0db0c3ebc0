"""A detector file from outside is data until proven otherwise: its pickle is read, not run.

A ``.pt`` checkpoint is a zip holding one pickle (``<root>/data.pkl``) and the raw tensor
bytes. Unpickling can call any function the pickle names, so :func:`scan_checkpoint` reads
the pickle's opcodes without executing anything (``zipfile`` + ``pickletools``; no torch, so
the GUI's process can run it too) and refuses, in one line naming what it found:

- anything that is not a zip made by ``torch.save``: a bare pickle, the legacy (pre-1.6)
  format, TorchScript, archives with a second pickle, entries outside one root folder,
  duplicate names, data in front of the first entry, encryption, or more than
  ``MAX_UNPACKED`` bytes or a compression ratio above ``MAX_RATIO`` (zip bombs);
- any global the pickle asks for that is not on the allow-list below, and any call the
  pickle makes that a YOLO checkpoint never makes (see "The allow-list");
- names a pickle computes at load time (``STACK_GLOBAL`` on operands the scan cannot tell,
  the copyreg extension codes), which cannot be checked.

:func:`load_checkpoint` then unpickles with ``torch.load(weights_only=True)``, the safe
globals being exactly the resolved names the scan found, never ``weights_only=False``. So
there are two gates: ours (which knows what a YOLO checkpoint holds) and torch's (which
refuses every opcode and global it does not know). Ultralytics' own loaders
(``load_checkpoint``, ``attempt_load_one_weight``, ``torch_safe_load``, ``YOLO(path)``) use
``weights_only=False`` and are never given a user's file.

The allow-list
--------------
Every global must be one of:

- *module classes*, which the pickle may only instantiate without running their
  ``__init__`` (``NEWOBJ``, i.e. ``cls.__new__``, then ``BUILD`` sets their state):
  classes under ``torch.nn.modules`` and ``ultralytics.nn`` that are ``torch.nn.Module``
  subclasses, and the classes defined in ``ultralytics.utils.loss`` / ``ultralytics.utils.tal``
  (a checkpoint saved mid-training keeps its loss object). A name that turns out not to be
  such a class (a function, say) is refused when it is resolved;
- *values*, which the pickle may call to build plain data: ``set``, ``frozenset``,
  ``bytearray``, ``complex``, ``OrderedDict``, ``Counter``, ``_codecs.encode`` (bytes in
  protocol 2), ``torch.Size``, ``torch.device``, torch's tensor and parameter rebuild
  functions, ``SimpleNamespace`` / ultralytics' ``IterableSimpleNamespace`` (training
  arguments), ``datetime`` types, ``pathlib`` paths, numpy's scalar / array reconstruction
  and ``numpy.dtype`` (metrics);
- *data*, which the pickle may only refer to: torch storage types and dtypes,
  ``torch.Tensor``, ``torch.nn.Parameter``, ``numpy.ndarray``, numpy dtype classes;
- ``builtins.getattr``, only as ``getattr(x, "forward")`` or ``getattr(x, "forward_fuse")``
  with the name spelled out in the pickle (a fused model pickles its bound ``forward``
  that way) and, when loaded, only on a ``torch.nn.Module`` class or instance.

Everything else is refused, whatever it is: ``os``/``posix``/``nt``/``subprocess``/``sys``,
``builtins.eval``/``exec``/``compile``/``__import__``/``open``, ``importlib``, ``pickle``,
``functools.partial``, torch's ``_rebuild_from_type_v2`` (it calls a function named by its
arguments), a YOLOv5 model's own ``models.*`` modules. ``INST``/``OBJ`` (which call a class)
are held to the *value* rule.
"""

from __future__ import annotations

import _compat_pickle
import contextlib
import io
import logging
import os
import pickletools
import re
import sys
import threading
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any

from core.errors import ModelError

log = logging.getLogger(__name__)

MAX_UNPACKED = 2 * 1024**3  # bytes a checkpoint may unpack to (yolov8x is 131 MB)
MAX_PICKLE = 64 * 1024**2  # the pickle itself (a YOLO checkpoint's is well under 1 MB)
MAX_RATIO = 100  # a compressed entry may unpack to at most this many times its size
MAX_MEMBERS = 100_000
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of torch's pre-1.6 format

TRAINED = "import the .pt file ultralytics saved while training (weights/best.pt)"
_GETATTR_NAMES = frozenset({"forward", "forward_fuse"})

# --- the allow-list (see the module docstring) -----------------------------------------------
_VALUES = frozenset(
    {
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.complex",
        "collections.OrderedDict",
        "collections.Counter",
        "_codecs.encode",
        "torch.Size",
        "torch.device",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "types.SimpleNamespace",
        "ultralytics.utils.IterableSimpleNamespace",
        "ultralytics.yolo.utils.IterableSimpleNamespace",  # before ultralytics 8.0.44
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "pathlib.Path",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
        "pathlib._local.PosixPath",  # Python 3.13 pickles
        "pathlib._local.WindowsPath",
        "numpy.dtype",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "builtins.getattr",  # held to getattr(module, "forward" | "forward_fuse")
    }
)
_TORCH_DTYPES = frozenset(
    {
        *("float16", "float32", "float64", "bfloat16", "half", "float", "double"),
        *("complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf"),
        *("int8", "int16", "int32", "int64", "short", "int", "long", "bool"),
        *("uint8", "uint16", "uint32", "uint64"),
        *("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"),
    }
)
_DATA = frozenset(
    {
        "torch.Tensor",
        "torch.nn.parameter.Parameter",
        "torch.storage.UntypedStorage",
        "torch.storage.TypedStorage",
        "numpy.ndarray",
        *(f"torch.{d}" for d in _TORCH_DTYPES),
    }
)
_STORAGE = re.compile(r"torch\.[A-Z][A-Za-z0-9]*Storage")
_NUMPY_DTYPE_CLASS = re.compile(r"numpy\.dtypes\.[A-Za-z0-9]+DType")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_MODULE_CLASS = re.compile(rf"(torch\.nn\.modules|ultralytics\.nn)(\.{_IDENT})*\.{_IDENT}")
_OWN_CLASS = re.compile(rf"ultralytics\.utils\.(loss|tal)\.{_IDENT}")
_MODULE_NAME = re.compile(rf"{_IDENT}(\.{_IDENT})*")
_NAME = re.compile(_IDENT)
# Names kept by ultralytics for checkpoints of older releases, resolved as it does.
_ALIASES = {
    "ultralytics.nn.modules.block.Silence": "torch.nn.modules.linear.Identity",  # YOLOv9e
    "ultralytics.nn.tasks.YOLOv10DetectionModel": "ultralytics.nn.tasks.DetectionModel",
    "ultralytics.utils.loss.v10DetectLoss": "ultralytics.utils.loss.E2EDetectLoss",
    "ultralytics.yolo.utils.IterableSimpleNamespace": "ultralytics.utils.IterableSimpleNamespace",
}

DATA, NEW, CALL = "data", "new", "call"


def category(name: str) -> str | None:
    """What a pickle may do with global ``name``: ``call`` it to build a value, create it
    with ``new`` (module classes, no ``__init__``), only refer to it as ``data``, or None:
    refused."""
    if name in _VALUES:
        return CALL
    if name == "torch.nn.parameter.Parameter":
        return NEW  # torch rebuilds it itself: Parameter(*args), no pickled code
    if name in _DATA or _STORAGE.fullmatch(name) or _NUMPY_DTYPE_CLASS.fullmatch(name):
        return DATA
    if _MODULE_CLASS.fullmatch(name) or _OWN_CLASS.fullmatch(name) or name in _ALIASES:
        return NEW
    return None


# --- the static scan ------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckpointScan:
    """What the scan found in a checkpoint that passed it."""

    globals: frozenset[str]  # every global its pickle names, as torch will look them up
    root: str  # the archive's top folder


class _Refused(Exception):
    """The pickle is refused; ``str()`` is the reason, after the file's name."""


class _Damaged(Exception):
    """The bytes are not a well-formed pickle."""


@dataclass(frozen=True)
class _Global:
    name: str


@dataclass(frozen=True)
class _Str:
    value: str


@dataclass(frozen=True)
class _Tuple:
    items: tuple[Any, ...]


_MARK = object()
_VALUE = object()  # anything the scan does not need to follow

_PUSH_VALUE = frozenset(
    {
        *("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"),
        *("NONE", "NEWTRUE", "NEWFALSE", "FLOAT", "BINFLOAT"),
        *("EMPTY_LIST", "EMPTY_DICT", "EMPTY_TUPLE", "EMPTY_SET"),
        *("BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "NEXT_BUFFER", "PERSID"),
    }
)
_PUSH_STR = frozenset(
    {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE"}
    | {"BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
)
_NOOP = frozenset({"PROTO", "FRAME", "READONLY_BUFFER"})
_POP_ONE_KEEP_TARGET = frozenset({"APPEND", "BUILD"})
_POP_MARK_KEEP_TARGET = frozenset({"APPENDS", "SETITEMS", "ADDITEMS"})


def global_name(module: str, name: str) -> str:
    """``module.name`` as torch's restricted unpickler looks it up (Python 2 names mapped)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


def _checked_global(module: str, name: str) -> _Global:
    if not _MODULE_NAME.fullmatch(module) or not _NAME.fullmatch(name):
        raise _Refused(f"its pickle asks for '{_short(module)}.{_short(name)}', not a plain name")
    full = global_name(module, name)
    if category(full) is None:
        raise _Refused(f"its pickle asks for '{full}', which is not part of a YOLO checkpoint")
    return _Global(full)


def _short(text: str, limit: int = 60) -> str:
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _require(callee: Any, allowed: tuple[str, ...], what: str) -> _Global:
    if not isinstance(callee, _Global):
        raise _Refused(f"its pickle {what} an object it built itself, which ClinLens cannot check")
    if category(callee.name) not in allowed:
        raise _Refused(
            f"its pickle {what} '{callee.name}', which a YOLO checkpoint never does with it"
        )
    return callee


def scan_pickle(data: bytes) -> tuple[set[str], Any]:
    """Globals named by the first pickle in ``data`` (``_Refused``/``_Damaged`` otherwise),
    and the first literal it pushes (to recognise torch's legacy format)."""
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    found: set[str] = set()
    first: Any = None

    def pop(n: int = 1) -> list[Any]:
        if len(stack) < n or any(x is _MARK for x in stack[len(stack) - n :]):
            raise _Damaged("stack underflow")
        items = stack[len(stack) - n :]
        del stack[len(stack) - n :]
        return items

    def pop_mark() -> list[Any]:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is _MARK:
                items = stack[i + 1 :]
                del stack[i:]
                return items
        raise _Damaged("no MARK")

    def top() -> Any:
        if not stack or stack[-1] is _MARK:
            raise _Damaged("empty stack")
        return stack[-1]

    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if first is None and name not in _NOOP:
                first = arg if name in ("LONG1", "LONG4", "LONG", "INT") else _VALUE
            if name in _NOOP:
                continue
            if name in _PUSH_VALUE:
                stack.append(_VALUE)
            elif name in _PUSH_STR:
                text = arg if isinstance(arg, str) else bytes(arg or b"").decode("latin-1")
                stack.append(_Str(text))
            elif name == "MARK":
                stack.append(_MARK)
            elif name == "POP":
                if stack and stack[-1] is _MARK:
                    pop_mark()
                else:
                    pop()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(top())
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if not isinstance(arg, int) or arg not in memo:
                    raise _Damaged(f"memo {arg} unset")
                stack.append(memo[arg])
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                if not isinstance(arg, int):
                    raise _Damaged("bad memo index")
                memo[arg] = top()
            elif name == "MEMOIZE":
                memo[len(memo)] = top()
            elif name == "TUPLE":
                stack.append(_Tuple(tuple(pop_mark())))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                stack.append(_Tuple(tuple(pop(int(name[-1])))))
            elif name in ("LIST", "DICT", "FROZENSET"):
                pop_mark()
                stack.append(_VALUE)
            elif name in _POP_ONE_KEEP_TARGET:
                pop()
                top()
            elif name == "SETITEM":
                pop(2)
                top()
            elif name in _POP_MARK_KEEP_TARGET:
                pop_mark()
                top()
            elif name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                g = _checked_global(module, attr)
                found.add(g.name)
                stack.append(g)
            elif name == "STACK_GLOBAL":
                module_tok, name_tok = pop(2)
                if not isinstance(module_tok, _Str) or not isinstance(name_tok, _Str):
                    raise _Refused(
                        "its pickle picks a global by a name it computes while loading, "
                        "which ClinLens cannot check"
                    )
                g = _checked_global(module_tok.value, name_tok.value)
                found.add(g.name)
                stack.append(g)
            elif name == "INST":
                module, _, attr = str(arg).partition(" ")
                g = _checked_global(module, attr)
                found.add(g.name)
                _require_plain_call(g)
                pop_mark()
                stack.append(_VALUE)
            elif name == "OBJ":
                items = pop_mark()
                if not items:
                    raise _Damaged("OBJ without a class")
                _require_plain_call(items[0])
                stack.append(_VALUE)
            elif name == "REDUCE":
                args, func = pop(2)[::-1]
                g = _require(func, (CALL,), "calls")
                if g.name == "builtins.getattr":
                    _check_getattr(args)
                stack.append(_VALUE)
            elif name == "NEWOBJ":
                _args, cls = pop(2)[::-1]
                _require(cls, (NEW, CALL), "creates")
                stack.append(_VALUE)
            elif name == "NEWOBJ_EX":
                _kwargs, _args, cls = pop(3)[::-1]
                _require(cls, (NEW, CALL), "creates")
                stack.append(_VALUE)
            elif name == "BINPERSID":
                pop()
                stack.append(_VALUE)
            elif name in ("EXT1", "EXT2", "EXT4"):
                raise _Refused(
                    "its pickle names globals through copyreg extension codes, which "
                    "ClinLens cannot check"
                )
            elif name == "STOP":
                pop()
                return found, first
            else:  # an opcode of a newer pickle protocol
                raise _Refused(f"its pickle uses the unknown opcode {name}")
    except (ValueError, OverflowError, MemoryError) as exc:  # pickletools: bad arguments
        raise _Damaged(str(exc)) from exc
    raise _Damaged("no STOP")


def _require_plain_call(callee: Any) -> None:
    """INST / OBJ call a class with arguments the scan does not follow: values only, and
    never getattr (whose attribute name must be checked)."""
    g = _require(callee, (CALL,), "calls")
    if g.name == "builtins.getattr":
        raise _Refused("its pickle calls getattr with arguments ClinLens cannot check")


def _check_getattr(args: Any) -> None:
    attr = args.items[1] if isinstance(args, _Tuple) and len(args.items) == 2 else None
    if not isinstance(attr, _Str):
        raise _Refused(
            "its pickle calls getattr on a name it computes while loading, which ClinLens "
            "cannot check"
        )
    if attr.value not in _GETATTR_NAMES:
        raise _Refused(
            f"its pickle calls getattr(..., '{_short(attr.value)}'), which a YOLO checkpoint "
            "never does"
        )


def damaged(shown: str, why: str = "") -> str:
    return (
        f"{shown} is not a YOLO model ClinLens can load: the file is damaged, truncated, or "
        f"was made by an incompatible program{f' ({why})' if why else ''}"
    )


def _refusal(shown: str, reason: str) -> ModelError:
    if re.search(r"'(models|utils)\.", reason):  # YOLOv5 pickles its own repo's modules
        return ModelError(
            f"{shown} is a YOLOv5 model; ClinLens loads models of ultralytics 8 or later"
        )
    return ModelError(
        f"{shown} is refused: {reason} (a model file can run code when it is loaded; ClinLens "
        "loads only what a YOLO checkpoint holds)"
    )


def scan_checkpoint(data: bytes, shown: str) -> CheckpointScan:
    """Check a checkpoint's bytes without unpickling them; ModelError (one line) if refused."""
    if not data:
        raise ModelError(f"model file {shown} is empty")
    if len(data) > MAX_UNPACKED:
        raise ModelError(f"{shown} is refused: it is larger than {MAX_UNPACKED // 1024**3} GB")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        _refuse_non_zip(data, shown)
    archive = open_archive(data, shown)
    names = archive.namelist()
    _check_torch_layout(names, shown)
    root = names[0].split("/", 1)[0]
    pickle_info = archive.getinfo(f"{root}/data.pkl")
    if pickle_info.file_size > MAX_PICKLE:
        raise ModelError(f"{shown} is refused: its pickle is larger than {MAX_PICKLE >> 20} MB")
    pickle_bytes = read_member(archive, pickle_info, shown)
    try:
        found, _ = scan_pickle(pickle_bytes)
    except _Refused as exc:
        raise _refusal(shown, str(exc)) from None
    except _Damaged as exc:
        raise ModelError(damaged(shown, "its pickle is malformed")) from exc
    return CheckpointScan(frozenset(found), root)


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str) -> bytes:
    """One entry's bytes (its size was checked by :func:`open_archive`; CRC by zipfile)."""
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ModelError(damaged(shown, "not a complete zip archive")) from exc


def _refuse_non_zip(data: bytes, shown: str) -> None:
    """A file that is not a zip: name what its pickle would load, or say what it is."""
    if data.startswith(b"PK"):
        raise ModelError(damaged(shown, "an incomplete zip archive"))
    try:
        _found, first = scan_pickle(data[:MAX_PICKLE])
    except _Refused as exc:
        raise _refusal(shown, str(exc)) from None
    except _Damaged as exc:
        raise ModelError(damaged(shown)) from exc
    if first == LEGACY_MAGIC:
        raise ModelError(
            f"{shown} is saved in the legacy format; re-save it with a current ultralytics"
        )
    raise ModelError(f"{shown} is a bare pickle, not a PyTorch checkpoint: {TRAINED}")


def open_archive(data: bytes, shown: str, *, max_unpacked: int = MAX_UNPACKED) -> zipfile.ZipFile:
    """``data`` as a zip, refused (one line) when two readers could disagree about it or
    reading it could exhaust memory: duplicate names, bytes in front of the first entry,
    encryption, unusual compression, too many entries, more than ``max_unpacked`` bytes in
    all, or an entry compressed more than ``MAX_RATIO`` times (a zip bomb)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelError(damaged(shown, "not a complete zip archive")) from exc
    if not infos:
        raise ModelError(damaged(shown, "an empty zip archive"))
    if len(infos) > MAX_MEMBERS:
        raise ModelError(f"{shown} is refused: its archive holds more than {MAX_MEMBERS} entries")
    names = [i.filename for i in infos]
    if len({n.lower() for n in names}) != len(names):
        # zipfile and torch's reader might not pick the same one of two equal names.
        raise ModelError(f"{shown} is refused: its archive holds two entries of the same name")
    _check_no_prefix(data, archive, shown)
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise ModelError(f"{shown} is refused: its archive is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelError(f"{shown} is refused: its archive uses an unusual compression")
        if (
            info.compress_type != zipfile.ZIP_STORED
            and info.file_size > MAX_RATIO * max(info.compress_size, 1)
            and info.file_size > 1 << 20
        ):
            raise ModelError(
                f"{shown} is refused: an entry unpacks to over {MAX_RATIO} times its size "
                "(a zip bomb)"
            )
        total += info.file_size
    if total > max_unpacked:
        raise ModelError(
            f"{shown} is refused: it would unpack to more than {max_unpacked >> 20} MB (a zip bomb)"
        )
    return archive


def _check_torch_layout(names: list[str], shown: str) -> None:
    """What ``torch.save`` writes: one root folder, one pickle ``<root>/data.pkl``."""
    lowered = [n.lower() for n in names]
    if any(n.endswith("/constants.pkl") or "/code/" in n for n in lowered):
        raise ModelError(
            f"{shown} is a TorchScript export, not a YOLO training checkpoint: {TRAINED}"
        )
    roots = {n.split("/", 1)[0] for n in names}
    if len(roots) != 1 or any("/" not in n for n in names):
        raise ModelError(f"{shown} is a zip archive but not a PyTorch checkpoint: {TRAINED}")
    root = roots.pop()
    pickles = [n for n, low in zip(names, lowered, strict=True) if low.endswith(".pkl")]
    if len(pickles) > 1:
        raise ModelError(
            f"{shown} is refused: it holds {len(pickles)} pickles, a YOLO checkpoint one"
        )
    if pickles != [f"{root}/data.pkl"]:
        raise ModelError(f"{shown} is a zip archive but not a PyTorch checkpoint: {TRAINED}")


def _check_no_prefix(data: bytes, archive: zipfile.ZipFile, shown: str) -> None:
    """Refuse bytes in front of the first entry: zipfile shifts every offset past them,
    torch's reader does not, so the two would read different entries."""
    end_record = getattr(zipfile, "_EndRecData", None)
    offset_key = getattr(zipfile, "_ECD_OFFSET", None)
    record = end_record(io.BytesIO(data)) if end_record and offset_key is not None else None
    shifted = (
        record is not None and archive.start_dir != record[offset_key]
    ) or not data.startswith(b"PK\x03\x04")
    if shifted or min(i.header_offset for i in archive.infolist()) != 0:
        raise ModelError(f"{shown} is refused: its archive has data in front of its first entry")


# --- loading --------------------------------------------------------------------------------
_load_lock = threading.Lock()  # safe_globals() edits a process-wide set: one load at a time


def module_getattr(obj: Any, name: str) -> Any:
    """``builtins.getattr`` as a checkpoint may use it: a module's ``forward`` methods only."""
    import pickle

    import torch

    if name in _GETATTR_NAMES:
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
            return getattr(obj, name)
        if isinstance(obj, torch.nn.Module):
            return getattr(type(obj), name).__get__(obj)
    raise pickle.UnpicklingError(f"getattr({type(obj).__name__}, {name!r}) is not allowed")


def _value_objects() -> dict[str, Any]:
    """The *value* and *data* names torch does not allow by itself, resolved."""
    import datetime
    import pathlib
    import types

    import numpy as np
    from ultralytics.utils import IterableSimpleNamespace

    local_path = pathlib.WindowsPath if os.name == "nt" else pathlib.PosixPath
    scalar = np.float64(0).__reduce__()[0]
    reconstruct = np.ndarray(0).__reduce__()[0]
    return {
        "builtins.frozenset": frozenset,
        "builtins.getattr": module_getattr,
        "types.SimpleNamespace": types.SimpleNamespace,
        "ultralytics.utils.IterableSimpleNamespace": IterableSimpleNamespace,
        "ultralytics.yolo.utils.IterableSimpleNamespace": IterableSimpleNamespace,
        "datetime.datetime": datetime.datetime,
        "datetime.date": datetime.date,
        "datetime.time": datetime.time,
        "datetime.timedelta": datetime.timedelta,
        "datetime.timezone": datetime.timezone,
        # A path pickled on the other OS becomes a local one, as ultralytics does it.
        "pathlib.Path": local_path,
        "pathlib.PosixPath": local_path,
        "pathlib.WindowsPath": local_path,
        "pathlib._local.PosixPath": local_path,
        "pathlib._local.WindowsPath": local_path,
        "pathlib.PurePath": pathlib.PurePath,
        "pathlib.PurePosixPath": pathlib.PurePosixPath,
        "pathlib.PureWindowsPath": pathlib.PureWindowsPath,
        "numpy.dtype": np.dtype,
        "numpy.core.multiarray.scalar": scalar,
        "numpy._core.multiarray.scalar": scalar,
        "numpy.core.multiarray._reconstruct": reconstruct,
        "numpy._core.multiarray._reconstruct": reconstruct,
        "numpy.ndarray": np.ndarray,
    }


def _module_class(name: str, shown: str) -> Any:
    """A *module class* name, resolved and checked to be one (ModelError if not)."""
    import importlib

    import torch

    target = _ALIASES.get(name, name)
    module_name, _, attr = target.rpartition(".")
    module = sys.modules.get(module_name)
    try:
        if module is None:  # only ever a module of torch.nn or ultralytics (the allow-list)
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing.split(".")[0] in ("ultralytics", "torch"):
            raise ModelError(
                f"{shown} needs '{name}', which this ultralytics does not have: it was made by "
                "a newer or older ultralytics"
            ) from exc
        raise ModelError(
            f"{shown} needs the Python module '{missing}', which ClinLens does not have and "
            "will not install: it was made by another program"
        ) from exc
    except Exception as exc:
        raise ModelError(f"{shown} needs '{name}', which cannot be loaded here") from exc
    obj = getattr(module, attr, None)
    if _OWN_CLASS.fullmatch(target):
        ok = isinstance(obj, type) and obj.__module__ == module_name
    else:
        ok = isinstance(obj, type) and issubclass(obj, torch.nn.Module)
    if not ok:
        if obj is None and not name.startswith("torch."):
            raise ModelError(
                f"{shown} needs '{name}', which this ultralytics does not have: it was made "
                "by a newer or older ultralytics"
            )
        raise _refusal(shown, f"its pickle asks for '{name}', which is not a model class")
    return obj


def safe_globals_for(scan: CheckpointScan, shown: str) -> list[Any]:
    """The ``(object, name)`` pairs to allow for this checkpoint's load: its own names only."""
    import numpy as np

    values = _value_objects()
    out: list[Any] = []  # (object, name) pairs, as torch.serialization.safe_globals takes
    for name in sorted(scan.globals):
        kind = category(name)
        if name in values:
            out.append((values[name], name))
        elif _NUMPY_DTYPE_CLASS.fullmatch(name):
            dtype_class = getattr(getattr(np, "dtypes", None), name.rpartition(".")[2], None)
            if isinstance(dtype_class, type):
                out.append((dtype_class, name))
        elif kind == NEW and name != "torch.nn.parameter.Parameter":
            out.append((_module_class(name, shown), name))
        # Every other name (torch's rebuild functions, storages, dtypes, OrderedDict, set,
        # _codecs.encode ...) is one torch's restricted unpickler allows by itself.
    if "numpy.dtype" in scan.globals:
        # BUILD of a dtype checks the instance's class, e.g. numpy.dtypes.Float64DType.
        out.extend((t, f"{t.__module__}.{t.__qualname__}") for t in _numpy_dtype_classes(np))
    return out


def _numpy_dtype_classes(np: Any) -> list[type]:
    dtypes = getattr(np, "dtypes", None)
    names = [n for n in dir(dtypes) if n.endswith("DType")] if dtypes is not None else []
    return [getattr(dtypes, n) for n in names if isinstance(getattr(dtypes, n), type)]


def load_checkpoint(data: bytes, shown: str) -> Any:
    """Scan ``data`` and unpickle it with ``torch.load(weights_only=True)``, allowing exactly
    the globals the scan found. ModelError (one line) for anything refused or unreadable."""
    scan = scan_checkpoint(data, shown)
    import torch

    allowed = safe_globals_for(scan, shown)
    with (
        _load_lock,
        torch.serialization.safe_globals(allowed),
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        try:
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch's own gate, or a damaged tensor record
            log.info("torch.load(weights_only=True) of %s failed: %r", shown, exc)
            raise ModelError(damaged(shown, exc.__class__.__name__)) from exc
