"""Tools that build and check the web book: Sphinx extensions, the browser helpers, the PDF."""
