"""Converting definitions from and to other formats (Quadlet files, compose files).

Pure like the core: it reads the files it is given and returns text or data; the commands write.
"""
