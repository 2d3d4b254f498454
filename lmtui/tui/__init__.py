"""The terminal app (Textual): pick a text, train a model on it, watch it learn, sample from it.

Nothing here imports torch: training runs in a child process and models load in worker threads, so the
app starts fast and the event loop never waits on the engine.
"""
