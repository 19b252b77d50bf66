from seqrnn.cli.main import run

run()
