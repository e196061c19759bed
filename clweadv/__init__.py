"""clweadv: cross-lingual word embedding mapping with adversarial autoencoders (Barone 2016)."""

__version__ = "0.1.0"
