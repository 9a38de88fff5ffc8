"""Reading the person's library: player databases (read-only) and music folders."""
