"""The labelled test-corpus builder (``corpus.py``): test and benchmark data, not part of the job."""
