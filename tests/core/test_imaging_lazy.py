"""``core.imaging`` loads its parts on first use: every public name still resolves to the
object of its submodule, even after all submodules are imported (a public name equal to a
submodule's name would be shadowed by the module)."""

from __future__ import annotations

import importlib
import pkgutil

import core.imaging as imaging


def test_every_public_name_resolves_to_its_submodules_object() -> None:
    for info in pkgutil.iter_modules(imaging.__path__):
        importlib.import_module(f"core.imaging.{info.name}")
        assert info.name not in imaging.__all__, f"{info.name} would be shadowed"
    for name in imaging.__all__:
        value = getattr(imaging, name)
        where = importlib.import_module(f"core.imaging.{imaging._WHERE[name]}")
        assert value is getattr(where, name)
        assert not isinstance(value, type(imaging))
    assert set(imaging.__all__) == set(imaging._WHERE)
