"""musicrec-desktop: learns your taste from your own library, privately, on your machine."""

__version__ = "0.1.0"
