"""citymind: the AI algorithm and knowledge middle-platform (算法与知识中台) of a city brain."""

__version__ = "0.1.0"
