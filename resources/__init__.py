"""Bundled resources: default label sets, grading scales, presets, icons and demo data."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource file (works from source, wheels and PyInstaller)."""
    return RESOURCES_DIR.joinpath(*parts)
