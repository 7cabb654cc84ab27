"""The package list, with conf/ and tasks/ mapped in as package data (``harness._data.conf``,
``harness._data.tasks``): a wheel then carries the configs and the shipped suites, and
harness/paths.py finds them inside the installed package. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

DATA = {"harness._data.conf": "conf", "harness._data.tasks": "tasks"}

setup(
    packages=find_packages(include=["harness", "harness.*"]) + list(DATA),
    package_dir=DATA,
    package_data={name: ["**/*"] for name in DATA},
    exclude_package_data={name: ["**/__pycache__/*", "**/*.pyc"] for name in DATA},
)
