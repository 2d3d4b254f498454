"""lmtui: train small language models on a text and play with them in the terminal."""

__version__ = "0.1.0"
