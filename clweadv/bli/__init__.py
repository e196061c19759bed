"""Finding and scoring translations: blocked nearest-neighbour and CSLS search (`retrieval`), and
bilingual lexicon induction, MUSE's unsupervised criterion, output diversity and the neighbour
table (`evaluation`)."""
