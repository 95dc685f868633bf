"""Sphinx configuration of the course book: `make book` (tools/book.py) builds it from the executed notebooks.

tools/book.py lays out the sources in build/book/src (the README as the landing page, the executed chapters,
the course report) and runs `sphinx-build -c book`. MyST-NB renders the notebooks with the outputs they were
saved with; it never runs a cell. The site needs no network to view: MathJax and the widget manager are served
from `_static/`, copied there from the npm packages that tools/book.py fetched into book/_vendor/.
"""

project = "RLHF, end to end"
author = "the RLHF course authors"
copyright = "the RLHF course authors, MIT licence"
root_doc = "index"

extensions = ["myst_nb"]
nb_execution_mode = "off"  # the book shows what `make course` executed
nb_merge_streams = True  # one block per cell for its printed lines, not one per write
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # `#a-heading` links to a heading, as on GitHub
exclude_patterns = ["**.ipynb_checkpoints"]

# Offline: MathJax 3 and the ipywidgets embed manager (the static views of saved widget state) from _static/.
html_static_path = ["_static", "_vendor/static"]
mathjax_path = "mathjax/tex-mml-chtml.js"
nb_ipywidgets_js = {"widgets.js": {}, "widgets/require.js": {}, "widgets/embed-amd.js": {}}

html_theme = "sphinx_book_theme"
html_title = "RLHF, end to end"
html_sourcelink_suffix = ""  # each chapter's download button links the executed .ipynb as it is
html_theme_options = {
    "use_download_button": True,  # ".ipynb": the executed notebook of the page
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "navbar_persistent": [],  # search sits in the sidebar; no second search bar above the page
}
html_context = {"default_mode": "light"}  # the theme's light/dark switch starts light (and logs no error)
