"""Dialogs: new-project wizard, export, settings, shortcut cheat-sheet."""
