"""Tools that read a written night and never run one: explain, show, report, evaluate.

They read the output through ``dedup.layout`` only, so they work on nights written by either engine.
"""
