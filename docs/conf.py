"""Sphinx configuration for fastnn's documentation site.

Build it from the repository root with the installed fastnn (``pip install
".[docs]"``, or the wheel with the ``docs`` extra):

    sphinx-build -W -b html docs docs/_build/html

The examples in ``docs/examples`` run during the build (sphinx-gallery) and
train on MNIST, found as fastnn finds it (``$FASTNN_DATA``, else the per-user
cache).  Nothing here puts the source tree on ``sys.path``: the API reference
is the installed package's.
"""
import os
import sys

import fastnn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "fastnn"
author = "the fastnn developers"
copyright = "2026, " + author
version = release = fastnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "clihelp",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.json"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = "fastnn " + release
html_static_path = []

# numpydoc: the docstrings are numpydoc style; members are listed by autodoc,
# not again by numpydoc
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
autosummary_generate = False

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
}
# offline builds (CI has no network but PyPI): no intersphinx inventories
if os.environ.get("FASTNN_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",      # every example runs at build time
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "True",
}

# headless plotting for the examples
os.environ.setdefault("MPLBACKEND", "Agg")
