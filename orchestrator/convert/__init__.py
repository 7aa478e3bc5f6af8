"""Bringing definitions in from other formats (and, later, taking them out). Pure like core: it
reads the files it is given and returns texts; the commands write them."""
