"""Stand-in for ``IPython.display``: ``Markdown`` keeps its text, ``display`` does nothing."""


class Markdown:
    def __init__(self, data):
        self.data = data


def display(*args, **kwargs):
    pass
