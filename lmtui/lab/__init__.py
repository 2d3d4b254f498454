"""The lecture made visible: per-token explanations, honest perplexity, sparsity by order, gradient reach,
model comparison and what hidden units track. Built on the engine's LanguageModel interface only; the CLI and
the app draw what these modules compute (nothing here imports click, rich or textual).
"""
