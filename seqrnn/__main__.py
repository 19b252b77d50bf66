"""``python -m seqrnn``: the ``seqrnn`` command line (:func:`seqrnn.cli.main.run`)."""

from seqrnn.cli.main import run

run()
