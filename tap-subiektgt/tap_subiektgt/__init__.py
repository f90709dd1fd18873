"""``tap-subiektgt``: an InsERT Subiekt GT company database as the contract's Singer streams."""
