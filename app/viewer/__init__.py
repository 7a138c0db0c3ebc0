"""Viewing: background read/render for the canvas and pixel read-outs."""
