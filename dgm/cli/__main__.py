from dgm.cli import entry

entry()
