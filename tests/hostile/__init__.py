"""The hostile corpus of issue 10: generated inputs of every class, and the rules they must keep
(`python -m tests.hostile --help`; tests/test_hostile_corpus.py runs it)."""
