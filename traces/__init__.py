"""Memory traces of tiled execution: the trace type, its builders, summaries and file formats.

Installed as ``smaug_fast.traces``.
"""
