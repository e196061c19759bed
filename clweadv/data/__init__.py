"""Everything that builds an experiment's inputs from Debian and PyPI packages: corpora,
word2vec vectors, pretrained vectors, gold dictionaries, and the prepared pairs (`prepare`)."""
