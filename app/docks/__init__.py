"""Dock widgets of the annotator: image list, filters, labels, grades."""
